// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import CPrewarmSubmit
import PrewarmCore
@testable import PrewarmSubmit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A daemon's datagram socket in a fresh directory, read on demand (the directory is removed with it).
final class Listener {
    let directory: String
    let path: String
    private(set) var fd: Int32 = -1

    init(bind: Bool = true) {
        var template = Array("/tmp/prewarm-notifier-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { b in b.baseAddress.flatMap { mkdtemp($0) } }
        directory = made.map { String(cString: $0) } ?? "/tmp"
        path = directory + "/prewarmd.sock"
        if bind { self.bind() }
    }

    func bind() {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let rc = UnixSocketAddress(path: path)?.withSockaddr { Glibc.bind(fd, $0, $1) }
        precondition(rc == 0, "bind \(path)")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The sizes of the datagrams read so far.
    private(set) var datagramSizes: [Int] = []
    private var lines: [String] = []

    /// The next datagram, or nil after 5 s without one.
    func datagram() -> String? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        datagramSizes.append(n)
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// The next notice (a line of a datagram), or nil after 5 s without one.
    func receive() -> String? {
        if lines.isEmpty, let d = datagram() { lines = d.split(separator: "\n").map(String.init) }
        return lines.isEmpty ? nil : lines.removeFirst()
    }

    deinit {
        if fd >= 0 { close(fd) }
        unlink(path)
        rmdir(directory)
    }
}

private func notice(_ i: Int) -> SubmitNotice {
    var r = SubmitRequest()
    r.uid = Int64(1000 + i)
    r.account = "physics"
    r.partition = "batch"
    r.minNodes = 2
    r.timeLimitMinutes = 30
    r.submitTime = Int64(1_700_000_000 + i)
    return SubmitNotice(request: r, prediction: nil)
}

/// Waits until `done` holds (polling every 10 ms, at most 10 s).
func eventually(_ done: () -> Bool) -> Bool {
    for _ in 0 ..< 1000 {
        if done() { return true }
        var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
        nanosleep(&pause, nil)
    }
    return done()
}

/// The names of this process's threads (what `top -H` shows).
private func threadNames() -> [String] {
    var names: [String] = []
    guard let dir = opendir("/proc/self/task") else { return names }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let f = fopen("/proc/self/task/\(tid)/comm", "r") else { continue }
        var line = [CChar](repeating: 0, count: 64)
        if fgets(&line, 64, f) != nil {
            names.append(String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        fclose(f)
    }
    return names
}

@Test func notifierSendsEveryNoticeInOrderOffTheSubmitPath() throws {
    let daemon = Listener()
    let notifier = try #require(Notifier(path: daemon.path))
    #expect(notifier.start() == 0)
    defer { notifier.stop() }
    #expect(eventually { threadNames().contains("prewarm-notify") })
    for i in 0 ..< 50 { notifier.enqueue(notice(i)) }
    for i in 0 ..< 50 {
        let m = daemon.receive()
        #expect(m == notice(i).message)
    }
    #expect(eventually { notifier.counts() == (50, 0) })
    // After the sender has gone to sleep (a second without notices), a submission wakes it.
    var pause = timespec(tv_sec: 1, tv_nsec: 300_000_000)
    nanosleep(&pause, nil)
    notifier.enqueue(notice(99))
    #expect(daemon.receive() == notice(99).message)
}

@Test func notifierWaitsForAFullDaemonSocketInsteadOfDropping() throws {
    let daemon = Listener()
    let notifier = try #require(Notifier(path: daemon.path))
    // More notices than a Unix datagram socket queues (net.unix.max_dgram_qlen, 512 by default) while the daemon
    // reads nothing: the sender keeps the rest and sends them once the daemon reads again.
    let n = 3000
    for i in 0 ..< n { notifier.enqueue(notice(i)) }
    #expect(notifier.start() == 0)
    defer { notifier.stop() }
    var pause = timespec(tv_sec: 0, tv_nsec: 300_000_000)
    nanosleep(&pause, nil)
    let early = notifier.counts()
    #expect(early.sent < UInt64(n) && early.dropped == 0)
    var received: [String] = []
    while received.count < n, let m = daemon.receive() { received.append(m) }
    #expect(received.count == n)
    #expect(received == (0 ..< n).map { notice($0).message })
    #expect(eventually { notifier.counts() == (UInt64(n), 0) })
    // Queued together, they went as lines of datagrams of at most 8 KB: far fewer sends than notices.
    #expect(daemon.datagramSizes.allSatisfy { $0 <= SubmitNotice.maxDatagramBytes })
    #expect(daemon.datagramSizes.count < n / 10)
}

@Test func notifierCountsDropsWhenNobodyListensOrTheQueueIsFull() throws {
    let nobody = Listener(bind: false)
    let notifier = try #require(Notifier(path: nobody.path))
    // Before the thread runs, the queue fills: the notices beyond its capacity are dropped at once.
    for i in 0 ..< Notifier.capacity + 7 { notifier.enqueue(notice(i)) }
    #expect(notifier.counts() == (0, 7))
    #expect(notifier.start() == 0)
    // Nobody listens: every queued notice is dropped (one failed sendto, then the quiet period), none waits.
    #expect(eventually { notifier.counts() == (0, UInt64(Notifier.capacity + 7)) })
    notifier.stop()
}

@Test func notifierStopSendsWhatIsQueued() throws {
    let daemon = Listener()
    let notifier = try #require(Notifier(path: daemon.path))
    #expect(notifier.start() == 0)
    for i in 0 ..< 5 { notifier.enqueue(notice(i)) }
    notifier.stop()
    #expect(notifier.counts() == (5, 0))
    for i in 0 ..< 5 { #expect(daemon.receive() == notice(i).message) }
}

/// A daemon reading on its own thread while the library stops with more notices queued than its socket holds
/// (about 1,500 for a 50 ms poll at 30,000 submissions a second): the stop waits for it to read, and nothing is lost.
@Test func notifierStopWaitsForABusyDaemonToRead() throws {
    final class Reader: @unchecked Sendable {
        let daemon = Listener()
        let expected: Int
        var received: [String] = []
        init(expected: Int) { self.expected = expected }
    }
    let n = 3000
    let reader = Reader(expected: n)
    let notifier = try #require(Notifier(path: reader.daemon.path))
    for i in 0 ..< n { notifier.enqueue(notice(i)) }
    #expect(notifier.start() == 0)
    var tid = pthread_t()
    let rc = pthread_create(&tid, nil, { arg in
        guard let arg else { return nil }
        let r = Unmanaged<Reader>.fromOpaque(arg).takeRetainedValue()
        while r.received.count < r.expected, let m = r.daemon.receive() { r.received.append(m) }
        return nil
    }, Unmanaged.passRetained(reader).toOpaque())
    #expect(rc == 0)
    notifier.stop()
    pthread_join(tid, nil)
    #expect(notifier.counts() == (UInt64(n), 0))
    #expect(reader.received == (0 ..< n).map { notice($0).message })
}

@Test func noticeMessageIsTheDatagramOfTheSubmission() {
    var r = SubmitRequest()
    r.uid = 7
    r.account = "a b"
    r.minCPUs = 4
    r.timeLimitMinutes = 60
    r.dependency = "afterok:1"
    let p = RuntimePrediction(point: .nan, p50: 1, p90: 2e12, candidate: .requested, scale: 1, expectedAccuracy: 0.5)
    let m = SubmitNotice(request: r, prediction: p).message
    // A NaN or huge prediction never traps: 0 and 1e9 s.
    #expect(m == "prewarm-submit v1 t=0 uid=7 account=a_b partition=- cpus=4 nodes=-1 tl=60 dep=1 array=0 begin=-1 rt=0 rt90=1000000000")
}

@Test func datagramCountsTheNoticesItCarries() {
    func count(_ text: String) -> Int {
        Array(text.utf8).withUnsafeBytes { SubmitNotice.count(inDatagram: $0) }
    }
    let one = notice(1).message
    #expect(count(one) == 1)
    #expect(count([one, notice(2).message, notice(3).message].joined(separator: "\n")) == 3)
    #expect(count(one + "\n") == 1)
    #expect(count("wake up") == 1)  // a datagram without a notice still reports a submission
    #expect(count("") == 0)
    #expect(count(one + "\nprewarm-sub") == 1)  // a line cut short is not a notice
}

@Test func datagramPacksWholeNoticesInOrder() {
    var r = SubmitRequest()
    r.account = String(repeating: "x", count: 100)  // a token keeps 48 bytes
    let long = SubmitNotice(request: r, prediction: nil)
    let notices = (0 ..< 500).map { $0 % 7 == 0 ? long : notice($0) }
    var lines: [String] = []
    var sizes: [Int] = []
    var at = 0
    while at < notices.count {
        let (bytes, taken) = SubmitNotice.datagram(notices[at...], maxBytes: 1000)
        #expect(taken >= 1)
        sizes.append(bytes.count)
        lines += String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        at += taken
    }
    #expect(lines == notices.map(\.message))
    #expect(sizes.allSatisfy { $0 <= 1000 } && sizes.count < notices.count / 4)
    // A notice longer than the limit still goes, alone.
    let (one, taken) = SubmitNotice.datagram(notices[0...], maxBytes: 10)
    #expect(taken == 1 && String(decoding: one, as: UTF8.self) == notices[0].message)
    #expect(SubmitNotice.datagram([][...]).taken == 0)
}

/// What the notifier logged, with the levels.
private let notifierLog = CapturedLog()

@Test func aSocketTheNotifierCannotUseIsLoggedOnceAndAgainWhenItWorks() throws {
    // Something else than prewarmd's datagram socket at the path (a stream socket: EPROTOTYPE; as root, the tests
    // cannot meet EACCES, slurmctld's usual case): not a stopped daemon, so said once, from the sender thread.
    let daemon = Listener(bind: false)
    let stream = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    let bound = UnixSocketAddress(path: daemon.path)?.withSockaddr { Glibc.bind(stream, $0, $1) }
    try #require(bound == 0 && listen(stream, 4) == 0)
    let log: prewarm_log_fn = { level, message in
        notifierLog.append(level, message, withLevel: true)
    }
    let notifier = try #require(Notifier(path: daemon.path, log: log))
    #expect(notifier.start() == 0)
    let expected = "1 cannot notify prewarmd at \(daemon.path) as uid \(geteuid()): Protocol wrong type for socket "
        + "(the socket must be writable for slurmctld's user; prewarmd makes it mode 0666); notices are dropped and "
        + "counted, said once"
    for round in 0 ..< 3 {
        notifier.enqueue(notice(round))
        #expect(eventually { notifier.counts() == (0, UInt64(round + 1)) })
        // Past the quiet period, so that the next round's send is tried again.
        var pause = timespec(tv_sec: 1, tv_nsec: 100_000_000)
        nanosleep(&pause, nil)
    }
    #expect(notifierLog.snapshot() == [expected])
    // prewarmd's socket in its place: sent, and said once.
    close(stream)
    unlink(daemon.path)
    daemon.bind()
    notifier.enqueue(notice(7))
    #expect(daemon.receive() == notice(7).message)
    notifier.enqueue(notice(8))
    #expect(daemon.receive() == notice(8).message)
    #expect(notifierLog.snapshot() == [expected, "0 notifying prewarmd at \(daemon.path) again"])
    notifier.stop()
}
