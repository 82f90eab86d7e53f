// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// What the daemon is told of one profiled submission. The submit path only fills this in (a few integers and
/// two retained strings); the text of the datagram (``message``) is built later, by the thread that sends it.
public struct SubmitNotice: Sendable {
    public var submitTime: Int64
    public var uid: Int64
    public var account: String
    public var partition: String
    public var processors: Int64
    public var minNodes: Int64
    public var timeLimitMinutes: Int64
    public var hasDependency: Bool
    public var isArray: Bool
    public var beginTime: Int64
    /// The point prediction and the calibrated p90, whole seconds (nil without a model).
    public var runtime: (point: Int64, p90: Int64)?

    public init(request r: SubmitRequest, prediction: RuntimePrediction?) {
        submitTime = r.submitTime
        uid = r.uid
        account = r.account
        partition = r.partition
        processors = r.processors
        minNodes = r.minNodes
        timeLimitMinutes = r.timeLimitMinutes
        hasDependency = !r.dependency.isEmpty
        isArray = !r.arraySpec.isEmpty
        beginTime = r.beginTime
        runtime = prediction.map { (Self.seconds($0.point), Self.seconds($0.p90)) }
    }

    /// `x` in whole seconds within 0...1e9 (0 for NaN): never traps.
    static func seconds(_ x: Float) -> Int64 {
        guard x == x else { return 0 }
        return Int64(Swift.max(0, Swift.min(Double(x), 1e9)))
    }

    /// The most bytes of one notice (its line is cut there; every byte is ASCII).
    public static let maxMessageBytes = 512

    /// The notice's line: `key=value` tokens, at most ``maxMessageBytes`` bytes.
    public var message: String {
        var w = AnnotationWriter()
        write(into: &w)
        return w.string
    }

    /// Appends the notice's line (bytes written straight into the writer: formatting a notice is the notifier
    /// thread's main work inside slurmctld, about 17k instructions through string interpolation).
    func write(into w: inout AnnotationWriter) {
        let start = w.count
        w.appendLiteral("prewarm-submit v1 t=")
        w.append(submitTime)
        w.appendLiteral(" uid=")
        w.append(uid)
        w.appendLiteral(" account=")
        w.appendToken(account.utf8)
        w.appendLiteral(" partition=")
        w.appendToken(partition.utf8)
        w.appendLiteral(" cpus=")
        w.append(processors)
        w.appendLiteral(" nodes=")
        w.append(minNodes)
        w.appendLiteral(" tl=")
        w.append(timeLimitMinutes)
        w.appendLiteral(hasDependency ? " dep=1" : " dep=0")
        w.appendLiteral(isArray ? " array=1" : " array=0")
        w.appendLiteral(" begin=")
        w.append(beginTime)
        if let runtime {
            w.appendLiteral(" rt=")
            w.append(runtime.point)
            w.appendLiteral(" rt90=")
            w.append(runtime.p90)
        }
        if w.count &- start > Self.maxMessageBytes { w.truncate(to: start &+ Self.maxMessageBytes) }
    }

    /// The first notices of `notices` as the lines of one datagram of at most `maxBytes` bytes (at least one
    /// notice, whatever its length), and how many it holds.
    public static func datagram(
        _ notices: ArraySlice<SubmitNotice>, maxBytes: Int = maxDatagramBytes
    ) -> (bytes: [UInt8], taken: Int) {
        var w = AnnotationWriter(capacity: Swift.min(Swift.max(maxBytes, 0), maxDatagramBytes) &+ maxMessageBytes)
        var taken = 0
        for notice in notices {
            let before = w.count
            if taken > 0 { w.append(byte: 0x0A) }
            notice.write(into: &w)
            if taken > 0 && w.count > maxBytes {
                w.truncate(to: before)
                break
            }
            taken &+= 1
        }
        return (w.bytes, taken)
    }

    /// The most bytes the plugin puts in one datagram: notices queued together are sent as lines of one datagram
    /// (one `sendto` for up to about 40 of them).
    public static let maxDatagramBytes = 8192

    /// How many submissions a datagram from the plugin reports: its lines that are notices, or 1 for a datagram
    /// without any (a sender that says only that something was submitted).
    public static func count(inDatagram bytes: UnsafeRawBufferPointer) -> Int {
        let prefix = "prewarm-submit ".utf8
        let count = bytes.split(separator: 0x0A).count { $0.starts(with: prefix) }
        return bytes.isEmpty ? 0 : Swift.max(count, 1)
    }
}
