// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// The parents of a pending job, read from the dependency string Slurm reports for it (`squeue -o %E`,
/// `job_info_t.dependency`), e.g. `afterok:12(unfulfilled),afterany:15_*(unfulfilled)`. Satisfied parts
/// disappear from the string; a part Slurm knows can never be satisfied is marked `(failed)`.
///
/// Used to plan for a dependent job from its parents' predicted ends instead of "now": the nodes for it are
/// powered up one boot lead time before the last parent is expected to end.
public struct JobDependency: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The child may start once the parent has started (`after`).
        case afterStart = "after"
        case afterAny = "afterany"
        case afterOK = "afterok"
        case afterNotOK = "afternotok"
        /// Array task to array task (`aftercorr`).
        case afterCorresponding = "aftercorr"
        case afterBurstBuffer = "afterburstbuffer"
        case singleton
    }

    public struct Parent: Sendable, Equatable {
        public var kind: Kind
        /// The parent's job id (an array's master id when followed by `_*` or a task: `arrayTask`).
        public var jobID: UInt32
        public var arrayTask: UInt32?
        /// `+minutes` after the parent's start or end (`after:12+30`).
        public var delayMinutes: Int

        public init(kind: Kind, jobID: UInt32, arrayTask: UInt32?, delayMinutes: Int) {
            self.kind = kind
            self.jobID = jobID
            self.arrayTask = arrayTask
            self.delayMinutes = delayMinutes
        }
    }

    /// Parents that must all be satisfied (`,`) or, when `anyOf`, any one of them (`?`).
    public var parents: [Parent]
    public var anyOf: Bool
    /// A part is `(failed)`: Slurm will never start the job on its own (DependencyNeverSatisfied).
    public var neverSatisfied: Bool
    /// `singleton`: waits for the user's other jobs of the same name; no parent id to plan from.
    public var singleton: Bool

    /// Parses Slurm's dependency string; `nil` for an empty string or one it cannot read (then the caller plans
    /// as without a dependency).
    /// - Complexity: O(length), at most 256 parents kept.
    public static func parse(_ text: String) -> JobDependency? {
        let s = text.utf8
        guard !s.isEmpty, s.count <= 65_536 else { return nil }
        var result = JobDependency(parents: [], anyOf: false, neverSatisfied: false, singleton: false)
        var sawComma = false
        var sawQuestion = false
        var valid = false
        for part in text.split(whereSeparator: { $0 == "," || $0 == "?" }) {
            var body = Substring(part)
            if let paren = body.firstIndex(of: "(") {
                let state = body[body.index(after: paren)...]
                if state.hasPrefix("failed") { result.neverSatisfied = true }
                body = body[..<paren]
            }
            if body == "singleton" {
                result.singleton = true
                valid = true
                continue
            }
            let fields = body.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 2, let kind = Kind(rawValue: String(fields[0])) else { continue }
            for f in fields.dropFirst() {
                var idText = Substring(f)
                var delay = 0
                if let plus = idText.firstIndex(of: "+") {
                    delay = Int(idText[idText.index(after: plus)...]) ?? 0
                    idText = idText[..<plus]
                }
                var task: UInt32?
                if let underscore = idText.firstIndex(of: "_") {
                    task = UInt32(idText[idText.index(after: underscore)...])  // nil for "*": the whole array
                    idText = idText[..<underscore]
                }
                guard let id = UInt32(idText), result.parents.count < 256 else { continue }
                result.parents.append(Parent(kind: kind, jobID: id, arrayTask: task, delayMinutes: Swift.max(0, delay)))
                valid = true
            }
        }
        // Slurm joins parts with one separator kind per job: ',' (all) or '?' (any).
        for c in s where c == UInt8(ascii: ",") || c == UInt8(ascii: "?") {
            if c == UInt8(ascii: ",") { sawComma = true } else { sawQuestion = true }
        }
        result.anyOf = sawQuestion && !sawComma
        return valid ? result : nil
    }
}
