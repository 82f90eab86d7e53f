// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// What a simple command runs: launchers, modules, the application. All lookups hash bytes of
/// the token space (``ScriptScanner/toks``) in place; strings are made only for collected values.
extension ScriptScanner {
    typealias Vocabulary = ScriptVocabulary

    // MARK: Token helpers

    @inline(__always) func length(_ t: Range<Int>) -> Int { t.upperBound &- t.lowerBound }

    /// The byte at index `k` of the token space (see ``toks``).
    @inline(__always) func byte(_ k: Int) -> UInt8 { k < n ? b[k] : scratch[k &- n] }

    @inline(__always) func first(_ t: Range<Int>) -> UInt8 { t.isEmpty ? 0 : byte(t.lowerBound) }

    /// The vocabulary key of a token: 0 (in no table) when it is longer than any known word.
    @inline(__always) func hash(_ t: Range<Int>) -> UInt64 {
        guard length(t) <= Self.maxKnownWord else { return 0 }
        if t.lowerBound < n { return ScriptText.hash(b, t) }
        return ScriptText.hash(scratch, t.lowerBound &- n ..< t.upperBound &- n)
    }

    /// The token as a string of at most ``BatchScriptAnalysis/maxStringBytes`` bytes.
    func string(_ t: Range<Int>) -> String {
        if t.lowerBound < n { return ScriptText.boundedString(b, t) }
        return scratch.withUnsafeBytes { ScriptText.boundedString($0, t.lowerBound &- n ..< t.upperBound &- n) }
    }

    /// Whether `t` is an option word (`-x`, `--x`; not `-` alone).
    @inline(__always) func isOption(_ t: Range<Int>) -> Bool { length(t) >= 2 && first(t) == Byte.dash }

    /// Whether `t` is exactly `-` followed by `letter`.
    @inline(__always) func isShort(_ t: Range<Int>, _ letter: UInt8) -> Bool {
        length(t) == 2 && first(t) == Byte.dash && byte(t.lowerBound &+ 1) == letter
    }

    /// The part of `t` after its last `/` (trailing slashes ignored).
    func basename(_ t: Range<Int>) -> Range<Int> {
        var end = t.upperBound
        while end > t.lowerBound && byte(end &- 1) == Byte.slash { end &-= 1 }
        if end == t.lowerBound { return t }
        var start = end
        while start > t.lowerBound && byte(start &- 1) != Byte.slash { start &-= 1 }
        return start ..< end
    }

    /// `NAME=value`, `NAME+=value` or `NAME[i]=value`.
    func isAssignment(_ t: Range<Int>) -> Bool {
        var k = t.lowerBound
        guard k < t.upperBound else { return false }
        let c0 = byte(k)
        guard Byte.isIdentifier(c0) && !Byte.isDigit(c0) else { return false }
        while k < t.upperBound && Byte.isIdentifier(byte(k)) { k &+= 1 }
        if k < t.upperBound && byte(k) == Byte.lbracket {
            while k < t.upperBound && byte(k) != Byte.rbracket { k &+= 1 }
            k &+= 1
        }
        if k < t.upperBound && byte(k) == Byte.plus { k &+= 1 }
        return k < t.upperBound && byte(k) == Byte.eq
    }

    /// Whether a basename is `python`, `python3`, `python3.11`, ….
    func isPython(_ t: Range<Int>) -> Bool {
        let p: [UInt8] = [0x70, 0x79, 0x74, 0x68, 0x6F, 0x6E]  // "python"
        guard length(t) >= p.count else { return false }
        for k in 0 ..< p.count where byte(t.lowerBound &+ k) != p[k] { return false }
        var k = t.lowerBound &+ p.count
        while k < t.upperBound {
            let c = byte(k)
            guard Byte.isDigit(c) || c == UInt8(ascii: ".") else { return false }
            k &+= 1
        }
        return true
    }

    // MARK: Commands

    /// Examines the command in ``toks``.
    mutating func processCommand() {
        guard let i = skipPrefixes(from: 0, reserved: true) else { return }
        let base = basename(toks[i])
        guard !base.isEmpty else { return }  // `""` or a lone escape
        let entry = Vocabulary.commands[hash(base)]
        switch entry?.kind {
        case .launcher?:
            handleLauncher(LauncherSet(rawValue: entry?.detail ?? 0), at: i, depth: 0)
        case .module?:
            handleModule(from: i &+ 1, ml: false)
        case .ml?:
            handleModule(from: i &+ 1, ml: true)
        case .utility?:
            return
        case .gpuUtility?:
            gpuHinted = true
        case .interpreter?, .java?:
            interpreterCommand(at: i, java: entry?.kind == .java, depth: 0, onLauncherLine: false)
        default:
            if isPython(base) {
                interpreterCommand(at: i, java: false, depth: 0, onLauncherLine: false)
            } else {
                lastPlain = string(base)
            }
        }
    }

    /// Index of the command word at or after `start`, past assignments, reserved words and prefixes
    /// (`exec`, `time -p`, `env -u X`, `nice -n 5`, `numactl --membind 0`, …); nil when the words run nothing.
    /// Reserved words count loops and `case` only when `reserved` (at the start of a command).
    mutating func skipPrefixes(from start: Int, reserved: Bool) -> Int? {
        var j = start
        while j < toks.count {
            let t = toks[j]
            if isAssignment(t) {
                j &+= 1
                continue
            }
            guard let e = Vocabulary.commands[hash(t)] else { return j }
            switch e.kind {
            case .prefix:
                j &+= 1
            case .loopPrefix:
                if !reserved { return j }
                loops &+= 1
                j &+= 1
            case .forLoop:
                if !reserved { return j }
                loops &+= 1
                return nil
            case .caseStart:
                if !reserved { return j }
                caseDepth &+= 1
                casePattern = true
                return nil
            case .caseEnd:
                if !reserved { return j }
                caseDepth = Swift.max(0, caseDepth &- 1)
                casePattern = false
                return nil
            case .noCommand:
                return reserved ? nil : j
            case .optionPrefix:
                guard let p = Vocabulary.Prefix(rawValue: e.detail),
                    let next = skipPrefixOptions(p, from: j &+ 1)
                else { return nil }
                j = next
            default:
                return j
            }
        }
        return nil
    }

    /// Index after the options (and operands) of a command prefix; nil when the prefix runs no command.
    func skipPrefixOptions(_ p: Vocabulary.Prefix, from start: Int) -> Int? {
        var j = start
        let count = toks.count
        switch p {
        case .command:
            if j < count && isOption(toks[j]) { return nil }  // `command -v x` only looks x up
        case .time:
            while j < count && isOption(toks[j]) { j &+= 1 }
        case .exec:
            while j < count && isOption(toks[j]) { j &+= isShort(toks[j], UInt8(ascii: "a")) ? 2 : 1 }
        case .nice:
            while j < count && isOption(toks[j]) { j &+= isShort(toks[j], UInt8(ascii: "n")) ? 2 : 1 }
        case .env:
            while j < count {
                let t = toks[j]
                if isOption(t) {
                    j &+= (isShort(t, UInt8(ascii: "u")) || isShort(t, UInt8(ascii: "C"))) ? 2 : 1
                } else if isAssignment(t) {
                    j &+= 1
                } else {
                    break
                }
            }
        case .timeout:
            while j < count && isOption(toks[j]) {
                j &+= (isShort(toks[j], UInt8(ascii: "s")) || isShort(toks[j], UInt8(ascii: "k"))) ? 2 : 1
            }
            j &+= 1  // the duration
        case .stdbuf:
            while j < count && isOption(toks[j]) { j &+= length(toks[j]) == 2 ? 2 : 1 }
        case .numactl:
            while j < count && isOption(toks[j]) {
                let t = toks[j]
                if length(t) == 2 {
                    switch byte(t.lowerBound &+ 1) {
                    case UInt8(ascii: "N"), UInt8(ascii: "m"), UInt8(ascii: "C"), UInt8(ascii: "p"),
                        UInt8(ascii: "i"), UInt8(ascii: "P"):
                        j &+= 2
                    default:
                        j &+= 1
                    }
                } else if byte(t.lowerBound &+ 1) == Byte.dash && !contains(t, Byte.eq)
                    && Self.numactlValued.contains(hash(t))
                {
                    j &+= 2
                } else {
                    j &+= 1
                }
            }
        case .taskset:
            while j < count && isOption(toks[j]) { j &+= 1 }
            j &+= 1  // the mask or CPU list
        }
        return j < count ? j : nil
    }

    static let numactlValued = Vocabulary.set(["--cpunodebind", "--membind", "--interleave", "--physcpubind", "--preferred"])

    func contains(_ t: Range<Int>, _ c: UInt8) -> Bool {
        var k = t.lowerBound
        while k < t.upperBound {
            if byte(k) == c { return true }
            k &+= 1
        }
        return false
    }

    // MARK: Interpreters

    enum Resolved {
        /// The token naming the program.
        case token(Int)
        /// `python -m torch.distributed.run`: a torchrun launcher whose options follow this token.
        case torchLauncher(Int)
    }

    /// What an interpreter at `i` runs: its script (`python -u train.py` → `train.py`), its module
    /// (`-m pkg`), its jar or main class (`java -jar x.jar`), or itself (`-c`, `-e`, nothing).
    func resolveInterpreter(at i: Int, java: Bool) -> Resolved {
        var j = i &+ 1
        let count = toks.count
        if java {
            while j < count {
                let t = toks[j]
                guard isOption(t) else { return .token(j) }
                let h = hash(t)
                if h == Self.javaJar { return .token(j &+ 1 < count ? j &+ 1 : i) }
                j &+= Self.javaValued.contains(h) ? 2 : 1
            }
            return .token(i)
        }
        while j < count {
            let t = toks[j]
            if length(t) == 1 && first(t) == Byte.dash { return .token(i) }  // script on stdin
            guard isOption(t) else { return .token(j) }
            if isShort(t, UInt8(ascii: "m")) {
                guard j &+ 1 < count else { return .token(i) }
                let h = hash(toks[j &+ 1])
                if h == Vocabulary.wordTorchRun || h == Vocabulary.wordTorchLaunch { return .torchLauncher(j &+ 1) }
                return .token(j &+ 1)
            }
            if isShort(t, UInt8(ascii: "c")) || isShort(t, UInt8(ascii: "e")) || isShort(t, UInt8(ascii: "E")) {
                return .token(i)
            }
            j &+= (isShort(t, UInt8(ascii: "W")) || isShort(t, UInt8(ascii: "X"))) ? 2 : 1
        }
        return .token(i)
    }

    static let javaJar = ScriptText.hash("-jar")
    static let javaValued = Vocabulary.set(["-cp", "-classpath", "--class-path", "-p", "--module-path"])

    /// An interpreter command: records its program (as the launcher program on a launcher line).
    mutating func interpreterCommand(at i: Int, java: Bool, depth: Int, onLauncherLine: Bool) {
        switch resolveInterpreter(at: i, java: java) {
        case .torchLauncher(let k):
            handleLauncher(.torchrun, at: k, depth: depth &+ 1)
        case .token(let k):
            let script = basename(toks[k])
            let name = string(script.isEmpty ? basename(toks[i]) : script)  // `python ""`
            if onLauncherLine { launcherProgram = name } else { lastPlain = name }
        }
    }

    // MARK: Launchers

    /// A launcher at `i`: counts it, reads its options (GPU counts), and records the program it runs
    /// (the first launcher line whose program is not a utility).
    mutating func handleLauncher(_ launcher: LauncherSet, at i: Int, depth: Int) {
        launchers.formUnion(launcher)
        launcherCount = Swift.min(BatchScriptAnalysis.maxLaunchers, launcherCount &+ 1)
        let family = Vocabulary.family(launcher)
        let count = toks.count
        var j = i &+ 1
        if launcher == .accelerate && j < count && hash(toks[j]) == Vocabulary.wordLaunch { j &+= 1 }
        while j < count {
            let t = toks[j]
            let c0 = first(t)
            guard length(t) >= 2, c0 == Byte.dash || (family == .charm && c0 == Byte.plus) else { break }
            if hash(t) == Vocabulary.wordDoubleDash {
                j &+= 1
                break
            }
            var nameStart = t.lowerBound
            while nameStart < t.upperBound && nameStart &- t.lowerBound < 2
                && (byte(nameStart) == Byte.dash || byte(nameStart) == Byte.plus)
            {
                nameStart &+= 1
            }
            let marks = nameStart &- t.lowerBound
            var name = nameStart ..< t.upperBound
            var value: Range<Int>? = nil
            var arity = 1
            if let eq = firstIndex(of: Byte.eq, in: name) {
                value = eq &+ 1 ..< t.upperBound
                name = nameStart ..< eq
                arity = 0
            } else if family == .srun && marks == 1 {
                // -n4, -l, -G 2
                name = nameStart ..< nameStart &+ 1
                if length(t) > 2 {
                    value = nameStart &+ 1 ..< t.upperBound
                    arity = 0
                } else {
                    arity = Vocabulary.srunShortFlag(byte(nameStart)) ? 0 : 1
                }
            } else if family == .charm && marks == 1 {
                arity = 0  // +p8, -foo
            } else {
                let h = hash(name)
                switch family {
                case .srun: arity = Vocabulary.srunFlags.contains(h) ? 0 : 1
                case .mpi: arity = Vocabulary.mpiFlags.contains(h) ? 0 : (Vocabulary.mpiTwoValues.contains(h) ? 2 : 1)
                case .charm: arity = Vocabulary.charmFlags.contains(h) ? 0 : 1
                case .torch: arity = Vocabulary.torchFlags.contains(h) ? 0 : 1
                case .generic: arity = Vocabulary.genericFlags.contains(h) ? 0 : 1
                }
            }
            if value == nil && arity >= 1 && j &+ 1 < count { value = toks[j &+ 1] }
            if family == .srun || family == .torch, let v = value, let kind = Vocabulary.gpuOptions[hash(name)] {
                explicitGPUs = Swift.max(explicitGPUs, gpuCount(v, kind))
            }
            j &+= 1 &+ arity
        }
        guard j < count, launcherProgram == nil, depth < Self.maxLauncherDepth,
            let p = skipPrefixes(from: j, reserved: false)
        else { return }
        let base = basename(toks[p])
        guard !base.isEmpty else { return }
        let entry = Vocabulary.commands[hash(base)]
        switch entry?.kind {
        case .utility?, .launcher?, .module?, .ml?:
            return
        case .gpuUtility?:
            gpuHinted = true
        case .interpreter?, .java?:
            interpreterCommand(at: p, java: entry?.kind == .java, depth: depth, onLauncherLine: true)
        default:
            if isPython(base) {
                interpreterCommand(at: p, java: false, depth: depth, onLauncherLine: true)
            } else {
                launcherProgram = string(base)
            }
        }
    }

    func firstIndex(of c: UInt8, in t: Range<Int>) -> Int? {
        var k = t.lowerBound
        while k < t.upperBound {
            if byte(k) == c { return k }
            k &+= 1
        }
        return nil
    }

    // MARK: Modules

    /// `module [opts] load|add|try-load|swap …` (`ml` when `ml`): collects the modules loaded.
    mutating func handleModule(from start: Int, ml: Bool) {
        var j = start
        let count = toks.count
        while j < count && isOption(toks[j]) { j &+= 1 }
        guard j < count else { return }
        let h = hash(toks[j])
        if Vocabulary.moduleSwap.contains(h) {
            var last = -1
            var k = j &+ 1
            while k < count {
                if !isOption(toks[k]) { last = k }
                k &+= 1
            }
            if last >= 0 { addModule(toks[last]) }
            return
        }
        if Vocabulary.moduleLoad.contains(h) {
            j &+= 1
        } else if !ml || Vocabulary.mlSubcommands.contains(h) {
            return
        }
        while j < count {
            let t = toks[j]
            if !isOption(t) && !t.isEmpty { addModule(t) }  // `ml -x` unloads x
            j &+= 1
        }
    }

    mutating func addModule(_ t: Range<Int>) {
        guard modules.count < BatchScriptAnalysis.maxModules else { return }
        let name = string(t)
        guard !modules.contains(name) else { return }
        modules.append(name)
        for prefix in Vocabulary.gpuModulePrefixes where length(t) >= prefix.count {
            var same = true
            for k in 0 ..< prefix.count {
                let c = byte(t.lowerBound &+ k)
                let lower = (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
                if lower != prefix[k] {
                    same = false
                    break
                }
            }
            if same {
                gpuHinted = true
                break
            }
        }
    }

    // MARK: GPU counts

    /// GPUs in an option value: `gpu[:type]:N` items of a GRES list (`gres/` prefix allowed), or
    /// `[type:]N` items; an item without a number counts 1. Saturates at 2^16.
    func gpuCount(_ v: Range<Int>, _ kind: Vocabulary.GPUValue) -> Int {
        var total = 0
        var itemStart = v.lowerBound
        var k = v.lowerBound
        while k <= v.upperBound {
            if k == v.upperBound || byte(k) == Byte.comma {
                total = Swift.min(1 << 16, total &+ gpuItem(itemStart ..< k, kind))
                itemStart = k &+ 1
            }
            k &+= 1
        }
        return total
    }

    private func gpuItem(_ item: Range<Int>, _ kind: Vocabulary.GPUValue) -> Int {
        guard !item.isEmpty else { return 0 }
        var s = item.lowerBound
        if kind == .gres {
            let gres: [UInt8] = [0x67, 0x72, 0x65, 0x73, 0x2F]  // "gres/"
            if length(item) >= gres.count && (0 ..< gres.count).allSatisfy({ byte(s &+ $0) == gres[$0] }) {
                s &+= gres.count
            }
            let gpu: [UInt8] = [0x67, 0x70, 0x75]  // "gpu"
            guard item.upperBound &- s >= 3, (0 ..< 3).allSatisfy({ byte(s &+ $0) == gpu[$0] }),
                item.upperBound &- s == 3 || byte(s &+ 3) == Byte.colon
            else { return 0 }
        }
        // The number after the last colon (or the whole item).
        var lastField = s
        var k = s
        while k < item.upperBound {
            if byte(k) == Byte.colon { lastField = k &+ 1 }
            k &+= 1
        }
        var value = 0
        var digits = 0
        k = lastField
        while k < item.upperBound && Byte.isDigit(byte(k)) {
            if value < 1 << 16 { value = value &* 10 &+ Int(byte(k) &- 0x30) }
            digits &+= 1
            k &+= 1
        }
        return digits > 0 ? Swift.min(value, 1 << 16) : 1
    }
}
