// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// A read-only open-addressing table keyed by ``ScriptText/hash(_:)`` values: a lookup is one or two
/// probes without rehashing (a `Dictionary<UInt64, _>` would run SipHash on every lookup). Key 0 is
/// never stored; ``ScriptScanner`` hashes words too long to be in a table to 0.
struct WordTable<Value: Sendable>: Sendable {
    private var keys: [UInt64]
    private var values: [Value]
    private let mask: Int

    init(_ pairs: [(String, Value)], filler: Value) {
        var size = 8
        while size < pairs.count &* 4 { size &*= 2 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Value](repeating: filler, count: size)
        mask = size &- 1
        for (word, value) in pairs {
            let h = ScriptText.hash(word)
            var slot = Self.slot(h, mask)
            while keys[slot] != 0 && keys[slot] != h { slot = (slot &+ 1) & mask }
            keys[slot] = h
            values[slot] = value
        }
    }

    @inline(__always) private static func slot(_ h: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (h ^ (h >> 32)) & UInt64(mask))
    }

    /// The value stored for hash `h`.
    /// - Complexity: O(1) expected (the table is at most a quarter full).
    subscript(_ h: UInt64) -> Value? {
        guard h != 0 else { return nil }
        var slot = Self.slot(h, mask)
        while true {
            let k = keys[slot]
            if k == h { return values[slot] }
            if k == 0 { return nil }
            slot = (slot &+ 1) & mask
        }
    }

    func contains(_ h: UInt64) -> Bool { self[h] != nil }
}

typealias WordSet = WordTable<Bool>

/// The words and options the script analyser knows, keyed by ``ScriptText/hash(_:)`` so that a lookup
/// hashes bytes in place and allocates nothing. A 64-bit collision would only misclassify one word.
enum ScriptVocabulary {
    enum Kind: UInt8 {
        /// Precedes a command: `then`, `do`, `if`, `!`, `{`, `nohup`, ….
        case prefix
        /// `while`, `until`: a loop whose condition is a command.
        case loopPrefix
        /// `for`, `select`: a loop header, no command.
        case forLoop
        case caseStart
        case caseEnd
        /// Reserved words that run nothing: `fi`, `done`, `}`, `function`, ….
        case noCommand
        /// Shell builtins and common utilities: never the application.
        case utility
        /// Utilities that hint at GPUs (`nvidia-smi`).
        case gpuUtility
        case module
        case ml
        /// Runs a script named by its first operand (`python`, `bash`, `Rscript`, …).
        case interpreter
        case java
        /// A parallel launcher; `detail` is its ``LauncherSet`` raw value.
        case launcher
        /// A command prefix with options (`env`, `time`, …); `detail` is a ``Prefix`` raw value.
        case optionPrefix
    }

    enum Prefix: UInt16 {
        case time, exec, nice, env, timeout, stdbuf, numactl, taskset, command
    }

    /// How a launcher's options are read.
    enum Family {
        case srun, mpi, charm, torch, generic
    }

    struct Entry {
        var kind: Kind
        var detail: UInt16 = 0
    }

    static let commands: WordTable<Entry> = {
        var d: [(String, Entry)] = []
        func add(_ kind: Kind, _ words: [String], detail: UInt16 = 0) {
            for w in words { d.append((w, Entry(kind: kind, detail: detail))) }
        }
        add(.prefix, ["then", "else", "elif", "do", "if", "!", "{", "nohup", "builtin", "coproc"])
        add(.loopPrefix, ["while", "until"])
        add(.forLoop, ["for", "select"])
        add(.caseStart, ["case"])
        add(.caseEnd, ["esac"])
        add(.noCommand, ["fi", "done", "}", "function", "in", "[[", "]]"])
        add(.utility, [
            "cd", "echo", "printf", "export", "source", ".", "set", "unset", "shopt", "setopt", "alias",
            "unalias", "declare", "local", "typeset", "readonly", "let", "eval", "trap", "ulimit", "umask",
            "wait", "exit", "return", "true", "false", "test", "[", ":", "read", "shift", "getopts", "hash",
            "type", "pushd", "popd", "dirs", "jobs", "disown", "kill", "sleep", "break", "continue",
            "mkdir", "rmdir", "cp", "mv", "rm", "ln", "touch", "chmod", "chown", "chgrp", "ls", "pwd", "cat",
            "head", "tail", "tee", "wc", "sort", "uniq", "cut", "tr", "sed", "awk", "gawk", "grep", "egrep",
            "fgrep", "find", "xargs", "tar", "gzip", "gunzip", "bzip2", "xz", "zip", "unzip", "rsync", "scp",
            "wget", "curl", "git", "date", "hostname", "whoami", "id", "uname", "nproc", "free", "df", "du",
            "env", "printenv", "which", "whereis", "basename", "dirname", "realpath", "readlink", "mktemp",
            "seq", "expr", "bc", "stat", "sync", "ps", "top", "lscpu", "lsblk", "ldd", "logger", "newgrp",
            "diff", "cmp", "md5sum", "sha256sum", "paste", "join", "column", "yes", "tput", "clear",
            "scontrol", "squeue", "sacct", "sbatch", "sinfo", "sstat", "scancel", "seff", "sattach", "sbcast",
            "conda", "activate", "deactivate", "spack", "lfs", "ulimit", "usleep",
        ])
        add(.gpuUtility, ["nvidia-smi", "rocm-smi", "nvcc", "nvidia-cuda-mps-control", "dcgmi"])
        add(.module, ["module"])
        add(.ml, ["ml"])
        add(.interpreter, [
            "bash", "sh", "zsh", "ksh", "dash", "csh", "tcsh", "mksh", "perl", "Rscript", "julia", "ruby",
            "node", "octave", "pypy", "pypy3",
        ])
        add(.java, ["java"])
        add(.launcher, ["srun"], detail: LauncherSet.srun.rawValue)
        add(.launcher, ["mpirun", "orterun", "prterun"], detail: LauncherSet.mpirun.rawValue)
        add(.launcher, ["mpiexec", "mpiexec.hydra", "mpiexec.mpich"], detail: LauncherSet.mpiexec.rawValue)
        add(.launcher, ["charmrun"], detail: LauncherSet.charmrun.rawValue)
        add(.launcher, ["torchrun"], detail: LauncherSet.torchrun.rawValue)
        add(.launcher, ["aprun"], detail: LauncherSet.aprun.rawValue)
        add(.launcher, ["ibrun"], detail: LauncherSet.ibrun.rawValue)
        add(.launcher, ["jsrun"], detail: LauncherSet.jsrun.rawValue)
        add(.launcher, ["deepspeed"], detail: LauncherSet.deepspeed.rawValue)
        add(.launcher, ["accelerate"], detail: LauncherSet.accelerate.rawValue)
        add(.launcher, ["horovodrun"], detail: LauncherSet.horovodrun.rawValue)
        add(.optionPrefix, ["time"], detail: Prefix.time.rawValue)
        add(.optionPrefix, ["exec"], detail: Prefix.exec.rawValue)
        add(.optionPrefix, ["nice"], detail: Prefix.nice.rawValue)
        add(.optionPrefix, ["env"], detail: Prefix.env.rawValue)
        add(.optionPrefix, ["timeout"], detail: Prefix.timeout.rawValue)
        add(.optionPrefix, ["stdbuf"], detail: Prefix.stdbuf.rawValue)
        add(.optionPrefix, ["numactl"], detail: Prefix.numactl.rawValue)
        add(.optionPrefix, ["taskset"], detail: Prefix.taskset.rawValue)
        add(.optionPrefix, ["command"], detail: Prefix.command.rawValue)
        return WordTable(d, filler: Entry(kind: .utility))
    }()

    /// Interpreters whose `#!` line means the body is not shell.
    static let nonShellInterpreters: WordSet = set([
        "perl", "Rscript", "R", "julia", "ruby", "node", "octave", "pypy", "pypy3", "awk", "gawk", "tclsh",
    ])

    /// sbatch long options that take no value (or only an optional `=value`).
    static let sbatchFlags: WordSet = set([
        "exclusive", "requeue", "no-requeue", "hold", "wait", "parsable", "overcommit", "contiguous",
        "spread-job", "use-min-nodes", "test-only", "quiet", "verbose", "help", "usage", "version", "no-kill",
        "oversubscribe", "reboot", "ignore-pbs", "get-user-env", "immediate", "nice", "propagate", "x11",
    ])

    /// srun long options that take no value (or only an optional `=value`).
    static let srunFlags: WordSet = set([
        "exclusive", "label", "unbuffered", "kill-on-bad-exit", "quiet", "verbose", "disable-status",
        "preserve-env", "hold", "immediate", "overcommit", "oversubscribe", "no-allocate", "pty", "multi-prog",
        "overlap", "exact", "whole", "contiguous", "test-only", "spread-job", "use-min-nodes",
        "quit-on-interrupt", "no-kill", "help", "usage", "version", "propagate", "x11", "reboot", "nice",
        "send-libs", "external-launcher",
    ])

    /// MPI launcher options (leading dashes removed) that take no value.
    static let mpiFlags: WordSet = set([
        "oversubscribe", "nooversubscribe", "allow-run-as-root", "report-bindings", "tag-output",
        "timestamp-output", "display-map", "display-allocation", "display-devel-map", "v", "verbose", "q",
        "quiet", "noprefix", "nolocal", "use-hwthread-cpus", "genvall", "genvnone", "rr", "l", "print-rank-map",
        "bind-to-core", "bind-to-socket", "bynode", "byslot", "bycore", "pernode", "enable-recovery",
        "merge-stderr-to-stdout", "help", "h", "V", "version", "do-not-launch", "show-progress",
        "ordered-output", "prepend-rank", "b", "B", "T", "mps",
    ])

    /// MPI launcher options that take two values (`--mca btl self`, `-genv VAR value`).
    static let mpiTwoValues: WordSet = set(["mca", "gmca", "genv", "env", "prtemca", "pmixmca"])

    /// Distributed-training launcher options that take no value.
    static let torchFlags: WordSet = set([
        "standalone", "no-python", "no_python", "m", "module", "run-path", "run_path", "force_multi",
        "force-multi", "multi_gpu", "multi-gpu", "use_deepspeed", "use_fsdp", "use_megatron_lm", "cpu",
        "no_local_rank", "bind_cores_to_rank", "debug", "quiet", "help", "h", "v", "verbose",
    ])

    /// charmrun `++` options that take no value.
    static let charmFlags: WordSet = set(["local", "mpiexec", "verbose", "quiet", "scalable-start", "no-va"])

    /// Options of unknown launchers that take no value.
    static let genericFlags: WordSet = set(["v", "verbose", "q", "quiet", "h", "help", "l", "label"])

    /// How an option value tells a GPU count.
    enum GPUValue {
        /// `gpu[:type]:N` items among other GRES (`--gres`, `--tres-per-node=gres/gpu:N`).
        case gres
        /// `[type:]N` items (`--gpus`, `-G`).
        case count
    }

    /// Options (directives, srun and training launchers) that give a GPU count.
    static let gpuOptions: WordTable<GPUValue> = {
        var d: [(String, GPUValue)] = []
        for w in ["gres", "tres-per-node", "tres-per-task", "tres-per-job"] { d.append((w, .gres)) }
        for w in [
            "gpus", "G", "gpus-per-node", "gpus-per-task", "gpus-per-socket", "nproc_per_node", "nproc-per-node",
            "num_gpus", "num-gpus", "num_processes", "num-processes",
        ] { d.append((w, .count)) }
        return WordTable(d, filler: .count)
    }()

    /// `module` subcommands that load their operands; `swap`/`switch` load their last one.
    static let moduleLoad: WordSet = set(["load", "add", "try-load", "try-add", "load-any"])
    static let moduleSwap: WordSet = set(["swap", "switch"])
    /// `ml` subcommands that do not load (any other first operand is a module to load).
    static let mlSubcommands: WordSet = set([
        "purge", "list", "avail", "av", "spider", "show", "help", "save", "restore", "use", "unuse", "whatis",
        "keyword", "unload", "rm", "del", "reset", "describe", "disable", "savelist", "is-loaded", "is-avail",
        "overview", "tablelist", "update", "refresh", "mt",
    ])

    /// Single words compared by hash.
    static let wordDoubleDash = ScriptText.hash("--")
    static let wordLaunch = ScriptText.hash("launch")
    static let wordTorchRun = ScriptText.hash("torch.distributed.run")
    static let wordTorchLaunch = ScriptText.hash("torch.distributed.launch")
    static let identArrayTask = ScriptText.hash("SLURM_ARRAY_TASK_ID")
    static let identArrayJob = ScriptText.hash("SLURM_ARRAY_JOB_ID")
    static let identCudaDevices = ScriptText.hash("CUDA_VISIBLE_DEVICES")
    static let identRocrDevices = ScriptText.hash("ROCR_VISIBLE_DEVICES")
    static let identHipDevices = ScriptText.hash("HIP_VISIBLE_DEVICES")

    /// Modules whose name starts with one of these (case-insensitively) hint at GPUs.
    static let gpuModulePrefixes: [[UInt8]] = ["cuda", "cudnn", "nccl", "rocm", "nvhpc"].map { Array($0.utf8) }

    /// The long sbatch option of a short one, and whether it takes a value.
    static func sbatchShort(_ c: UInt8) -> (name: String, takesValue: Bool)? {
        switch c {
        case UInt8(ascii: "a"): return ("array", true)
        case UInt8(ascii: "A"): return ("account", true)
        case UInt8(ascii: "b"): return ("begin", true)
        case UInt8(ascii: "B"): return ("extra-node-info", true)
        case UInt8(ascii: "c"): return ("cpus-per-task", true)
        case UInt8(ascii: "C"): return ("constraint", true)
        case UInt8(ascii: "d"): return ("dependency", true)
        case UInt8(ascii: "D"): return ("chdir", true)
        case UInt8(ascii: "e"): return ("error", true)
        case UInt8(ascii: "F"): return ("nodefile", true)
        case UInt8(ascii: "G"): return ("gpus", true)
        case UInt8(ascii: "i"): return ("input", true)
        case UInt8(ascii: "J"): return ("job-name", true)
        case UInt8(ascii: "L"): return ("licenses", true)
        case UInt8(ascii: "m"): return ("distribution", true)
        case UInt8(ascii: "M"): return ("clusters", true)
        case UInt8(ascii: "n"): return ("ntasks", true)
        case UInt8(ascii: "N"): return ("nodes", true)
        case UInt8(ascii: "o"): return ("output", true)
        case UInt8(ascii: "p"): return ("partition", true)
        case UInt8(ascii: "q"): return ("qos", true)
        case UInt8(ascii: "S"): return ("core-spec", true)
        case UInt8(ascii: "t"): return ("time", true)
        case UInt8(ascii: "w"): return ("nodelist", true)
        case UInt8(ascii: "x"): return ("exclude", true)
        case UInt8(ascii: "h"): return ("help", false)
        case UInt8(ascii: "H"): return ("hold", false)
        case UInt8(ascii: "I"): return ("immediate", false)
        case UInt8(ascii: "k"): return ("no-kill", false)
        case UInt8(ascii: "O"): return ("overcommit", false)
        case UInt8(ascii: "Q"): return ("quiet", false)
        case UInt8(ascii: "s"): return ("oversubscribe", false)
        case UInt8(ascii: "u"): return ("usage", false)
        case UInt8(ascii: "v"): return ("verbose", false)
        case UInt8(ascii: "V"): return ("version", false)
        case UInt8(ascii: "W"): return ("wait", false)
        default: return nil
        }
    }

    /// Whether a short srun option takes no value.
    static func srunShortFlag(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "E"), UInt8(ascii: "H"), UInt8(ascii: "I"), UInt8(ascii: "K"), UInt8(ascii: "l"),
            UInt8(ascii: "O"), UInt8(ascii: "Q"), UInt8(ascii: "q"), UInt8(ascii: "s"), UInt8(ascii: "u"),
            UInt8(ascii: "v"), UInt8(ascii: "V"), UInt8(ascii: "X"), UInt8(ascii: "Z"), UInt8(ascii: "h"),
            UInt8(ascii: "k"):
            return true
        default:
            return false
        }
    }

    static func family(_ launcher: LauncherSet) -> Family {
        if launcher == .srun { return .srun }
        if launcher == .charmrun { return .charm }
        if !launcher.isDisjoint(with: .mpi) { return .mpi }
        if launcher == .horovodrun { return .mpi }
        if !launcher.isDisjoint(with: .distributedTraining) { return .torch }
        return .generic
    }

    static func set(_ words: [String]) -> WordSet { WordTable(words.map { ($0, true) }, filler: false) }
}
