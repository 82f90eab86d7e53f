// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Why a model file (a ``ModelContainer``) or its payload was refused.
///
/// Every reader in Prewarm throws this instead of trapping: model files come from disk and may be
/// truncated, corrupted, from another program, or from a newer Prewarm.
public struct ModelFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The kind of failure, for programs; ``description`` is for people.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The bytes do not start with the Prewarm magic.
        case notAPrewarmModel
        /// The data ends before a field it announces.
        case truncated
        /// The container layout version is newer (or older) than this build understands.
        case unsupportedContainerVersion
        /// The payload version of this kind of model is not supported by this build.
        case unsupportedPayloadVersion
        /// The container holds another kind of model than the one asked for.
        case wrongKind
        /// The stored checksum does not match the bytes: the file is corrupted.
        case checksumMismatch
        /// The payload is well formed as bytes but its content is inconsistent.
        case malformed
    }

    /// What went wrong.
    public let code: Code
    /// A human-readable explanation naming the section or field.
    public let message: String

    /// An error with an explicit code and message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `"<code>: <message>"`.
    public var description: String {
        "\(code.rawValue): \(message)"
    }

    /// The data does not start with `"PREWARM\0"`.
    public static var notAPrewarmModel: ModelFileError {
        ModelFileError(code: .notAPrewarmModel, message: "not a Prewarm model file (bad magic)")
    }

    /// The data needed `expected` bytes but only `actual` were there.
    public static func truncated(expected: Int, actual: Int, what: String = "data") -> ModelFileError {
        ModelFileError(
            code: .truncated, message: "\(what) truncated: needed \(expected) bytes, only \(actual) available")
    }

    /// The container format version is not understood.
    public static func unsupportedContainerVersion(_ found: UInt16, supported: UInt16) -> ModelFileError {
        ModelFileError(
            code: .unsupportedContainerVersion,
            message: "container format version \(found) is not supported (this build reads version \(supported))")
    }

    /// The payload version is not understood.
    public static func unsupportedPayloadVersion(
        _ found: UInt16, kind: String, supported: ClosedRange<UInt16>
    ) -> ModelFileError {
        ModelFileError(
            code: .unsupportedPayloadVersion,
            message: "\(kind) payload version \(found) is not supported (this build reads "
                + "\(supported.lowerBound)...\(supported.upperBound))")
    }

    /// The container holds another kind of model.
    public static func wrongKind(expected: String, found: UInt16) -> ModelFileError {
        let name = ModelKind(rawValue: found).map { "\($0)" } ?? "unknown kind \(found)"
        return ModelFileError(code: .wrongKind, message: "expected a \(expected) model, found \(name)")
    }

    /// The checksum does not match.
    public static func checksumMismatch(stored: UInt64, computed: UInt64) -> ModelFileError {
        ModelFileError(
            code: .checksumMismatch,
            message: "checksum mismatch (stored \(hex(stored)), computed \(hex(computed))): the file is corrupted")
    }

    /// The content is inconsistent; `message` names the section and field.
    public static func malformed(_ message: String) -> ModelFileError {
        ModelFileError(code: .malformed, message: message)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
