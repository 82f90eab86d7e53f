// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// One `#SBATCH` option as sbatch reads it: the long option name without dashes
/// (short options mapped to their long names, `-t` → `time`) and its value (empty for flags).
public struct SbatchDirective: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The parallel launchers a batch script invokes as commands.
public struct LauncherSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let srun = LauncherSet(rawValue: 1 << 0)
    /// `mpirun` and `orterun`.
    public static let mpirun = LauncherSet(rawValue: 1 << 1)
    /// `mpiexec` and `mpiexec.hydra`.
    public static let mpiexec = LauncherSet(rawValue: 1 << 2)
    public static let charmrun = LauncherSet(rawValue: 1 << 3)
    /// `torchrun` and `python -m torch.distributed.run|launch`.
    public static let torchrun = LauncherSet(rawValue: 1 << 4)
    public static let aprun = LauncherSet(rawValue: 1 << 5)
    public static let ibrun = LauncherSet(rawValue: 1 << 6)
    public static let jsrun = LauncherSet(rawValue: 1 << 7)
    public static let deepspeed = LauncherSet(rawValue: 1 << 8)
    /// `accelerate launch`.
    public static let accelerate = LauncherSet(rawValue: 1 << 9)
    public static let horovodrun = LauncherSet(rawValue: 1 << 10)

    /// The MPI-style launchers.
    public static let mpi: LauncherSet = [.mpirun, .mpiexec, .charmrun, .aprun, .ibrun, .jsrun]
    /// The launchers of distributed deep-learning training.
    public static let distributedTraining: LauncherSet = [.torchrun, .deepspeed, .accelerate, .horovodrun]

    /// Every launcher with its display name, in bit order.
    public static let all: [(launcher: LauncherSet, name: String)] = [
        (.srun, "srun"), (.mpirun, "mpirun"), (.mpiexec, "mpiexec"), (.charmrun, "charmrun"),
        (.torchrun, "torchrun"), (.aprun, "aprun"), (.ibrun, "ibrun"), (.jsrun, "jsrun"),
        (.deepspeed, "deepspeed"), (.accelerate, "accelerate"), (.horovodrun, "horovodrun"),
    ]

    /// The names of the launchers in the set, in bit order.
    public var names: [String] { Self.all.filter { contains($0.launcher) }.map(\.name) }
}

/// What a static reading of a Slurm batch script tells about the job, before it runs.
///
/// ``analyze(_:maxBytes:)`` runs inside slurmctld on every submission, so it is total and bounded:
/// it never traps on any byte sequence, reads at most `maxBytes` bytes, does work linear in them
/// (one validation pass and one tokenising pass, no regular expressions, no backtracking), and
/// collects a capped number of items of capped length (``maxStringBytes``).
///
/// It reads the script the way its consumers do:
/// - `#SBATCH` lines as sbatch does: only at the start of a line, only before the first line that is
///   neither blank nor a comment; quotes and backslashes as in sbatch's own tokeniser, an unquoted `#`
///   ends the line; `--opt=value`, `--opt value`, `-t 10`, `-t10` and several options per line.
/// - The rest as a POSIX shell would tokenise it: quotes, `\` escapes and line continuations, CRLF,
///   comments, `;` `&&` `||` `|` `&` separators, redirections (their targets are not commands),
///   here-documents (their bodies are skipped), `$(…)`, `${…}` and `a=(…)` kept inside their word,
///   `case` patterns, and the prefixes `VAR=value`, `exec`, `time`, `env`, `nice`, `nohup`, `numactl`, ….
/// A script whose `#!` interpreter is not a shell (Python, Perl, R, …) has only its directives read.
public struct BatchScriptAnalysis: Sendable, Equatable {
    /// Bytes read by default: Slurm itself caps batch scripts at 4 MB, real ones are a few KB.
    public static let defaultMaxBytes = 64 * 1024
    /// Most directives collected.
    public static let maxDirectives = 64
    /// Most modules collected.
    public static let maxModules = 32
    /// Saturation value of ``launcherCount``.
    public static let maxLaunchers = 1000
    /// Longest collected string, in UTF-8 bytes (cut at a character boundary).
    public static let maxStringBytes = 128

    /// Bytes read: at most `maxBytes`.
    public var bytesExamined = 0
    /// Whether the script is longer than `maxBytes`.
    public var truncated = false
    /// False when the bytes contain a NUL or more than 1/32 control bytes or invalid UTF-8:
    /// binary junk, of which nothing but the sizes is reported.
    public var isText = true
    /// Basename of the `#!` interpreter (`bash`, `python3`; through `/usr/bin/env`), nil without one.
    public var interpreter: String?
    /// The `#SBATCH` options in script order (at most ``maxDirectives``); a later one overrides an earlier
    /// one in sbatch, see ``directive(_:)``.
    public var directives: [SbatchDirective] = []
    /// The launchers invoked as commands (not in comments, strings or here-documents).
    public var launchers = LauncherSet()
    /// Number of launcher invocations, saturating at ``maxLaunchers``.
    public var launcherCount = 0
    /// Modules loaded with `module load|add|try-load|swap` or `ml`, in order, without duplicates
    /// (at most ``maxModules``).
    public var modules: [String] = []
    /// Best guess at the application, as a basename: the program of the first launcher line that does not
    /// run a common utility (launcher and prefix options skipped), else the last command that is not a
    /// shell builtin or common utility. An interpreter running a script names the script
    /// (`python train.py` → `train.py`, `python -m pkg.mod` → `pkg.mod`). For a non-shell `#!`
    /// interpreter, the interpreter.
    public var mainExecutable: String?
    /// GPUs asked for: the largest explicit count (`--gres=gpu:N`, `--gpus`, `-G`, `--gpus-per-node`,
    /// `--gpus-per-task` in directives or on an `srun` line, `torchrun --nproc_per_node`, …), else 1 when
    /// only hinted (`CUDA_VISIBLE_DEVICES`, `nvidia-smi`, a `cuda`/`cudnn`/`nccl`/`rocm` module), else 0.
    public var gpuHints = 0
    /// Number of lines read (a last line without a newline counts).
    public var lineCount = 0
    /// Number of `for`, `while` and `until` loops.
    public var loopCount = 0
    /// Whether the script is an array job: it uses `SLURM_ARRAY_TASK_ID` (or `SLURM_ARRAY_JOB_ID`) or has an
    /// `--array` directive.
    public var arrayHint = false

    public init() {}

    /// The value of the last directive named `name` (long name without dashes), as sbatch would apply it.
    /// - Complexity: O(``directives``.count).
    public func directive(_ name: String) -> String? {
        directives.last(where: { $0.name == name })?.value
    }

    /// Analyses the first `maxBytes` bytes of a batch script.
    ///
    /// Never traps, whatever the bytes. Non-text input yields ``isText`` false and only the sizes.
    /// - Parameters:
    ///   - bytes: The script as submitted (any bytes).
    ///   - maxBytes: Bytes to read at most; negative reads nothing.
    /// - Returns: The analysis.
    /// - Complexity: O(min(bytes.count, maxBytes)).
    public static func analyze(_ bytes: UnsafeRawBufferPointer, maxBytes: Int = defaultMaxBytes)
        -> BatchScriptAnalysis
    {
        analyze(bytes, maxBytes: maxBytes, fastPaths: true)
    }

    /// ``analyze(_:maxBytes:)-(UnsafeRawBufferPointer,_)`` with the scanner's fast path for simple utility
    /// command lines turned on or off (off: every line through the general tokeniser; the tests compare both).
    static func analyze(_ bytes: UnsafeRawBufferPointer, maxBytes: Int, fastPaths: Bool) -> BatchScriptAnalysis {
        let n = Swift.min(bytes.count, Swift.max(0, maxBytes))
        let view = UnsafeRawBufferPointer(rebasing: bytes[0 ..< n])
        var a = BatchScriptAnalysis()
        a.bytesExamined = n
        a.truncated = bytes.count > n
        let check = ScriptText.check(view, truncated: a.truncated)
        a.lineCount = check.lines
        a.isText = check.isText
        guard a.isText, n > 0 else { return a }
        var scanner = ScriptScanner(view)
        scanner.fastPaths = fastPaths
        scanner.run()
        scanner.fill(&a)
        return a
    }

    /// Analyses the UTF-8 bytes of `text`; see ``analyze(_:maxBytes:)-(UnsafeRawBufferPointer,_)``.
    /// - Complexity: O(min(text.utf8.count, maxBytes)).
    public static func analyze(_ text: String, maxBytes: Int = defaultMaxBytes) -> BatchScriptAnalysis {
        var copy = text
        return copy.withUTF8 { analyze(UnsafeRawBufferPointer($0), maxBytes: maxBytes) }
    }

    /// A stable 31-bit non-negative id for a name: 32-bit FNV-1a of its UTF-8 bytes with the top bit
    /// cleared. Used as the `application` number of a ``JobRecord``; identical across runs and machines.
    /// - Complexity: O(name.utf8.count).
    public static func stableID(_ name: String) -> Int32 {
        // Over the string's contiguous bytes when it has them (native strings: a few instructions per byte, against
        // about ten through the UTF-8 view's iterator; the profiler hashes four names per submission).
        if let id = name.utf8.withContiguousStorageIfAvailable({ stableID(bytes: $0) }) { return id }
        var h: UInt32 = 0x811C_9DC5
        for byte in name.utf8 {
            h ^= UInt32(byte)
            h = h &* 0x0100_0193
        }
        return Int32(bitPattern: h & 0x7FFF_FFFF)
    }

    static func stableID(bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        var h: UInt32 = 0x811C_9DC5
        for byte in bytes {
            h ^= UInt32(byte)
            h = h &* 0x0100_0193
        }
        return Int32(bitPattern: h & 0x7FFF_FFFF)
    }
}
