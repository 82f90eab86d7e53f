// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// Byte values the scanner tests.
enum Byte {
    static let tab: UInt8 = 0x09
    static let nl: UInt8 = 0x0A
    static let vt: UInt8 = 0x0B
    static let ff: UInt8 = 0x0C
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let bang = UInt8(ascii: "!")
    static let dquote = UInt8(ascii: "\"")
    static let hash = UInt8(ascii: "#")
    static let dollar = UInt8(ascii: "$")
    static let amp = UInt8(ascii: "&")
    static let squote = UInt8(ascii: "'")
    static let lparen = UInt8(ascii: "(")
    static let rparen = UInt8(ascii: ")")
    static let star = UInt8(ascii: "*")
    static let plus = UInt8(ascii: "+")
    static let comma = UInt8(ascii: ",")
    static let dash = UInt8(ascii: "-")
    static let slash = UInt8(ascii: "/")
    static let colon = UInt8(ascii: ":")
    static let semi = UInt8(ascii: ";")
    static let lt = UInt8(ascii: "<")
    static let eq = UInt8(ascii: "=")
    static let gt = UInt8(ascii: ">")
    static let question = UInt8(ascii: "?")
    static let at = UInt8(ascii: "@")
    static let lbracket = UInt8(ascii: "[")
    static let backslash = UInt8(ascii: "\\")
    static let rbracket = UInt8(ascii: "]")
    static let underscore = UInt8(ascii: "_")
    static let backtick = UInt8(ascii: "`")
    static let lbrace = UInt8(ascii: "{")
    static let pipe = UInt8(ascii: "|")
    static let rbrace = UInt8(ascii: "}")

    @inline(__always) static func isBlank(_ c: UInt8) -> Bool {
        c == space || c == tab || c == cr || c == vt || c == ff
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Bytes that end or change the state of an unquoted word: whitespace, quotes, `\\`, `(`, `{`, `)`,
    /// `;`, `&`, `|`, `<`, `>`, as bit masks over 0–63 and 64–127. Other bytes (and all ≥ 128) are plain.
    static let wordSpecialLow: UInt64 = 0x5800_03C5_0000_3E00
    static let wordSpecialHigh: UInt64 = 0x1800_0001_1000_0000

    @inline(__always) static func isPlainWordByte(_ c: UInt8) -> Bool {
        if c >= 128 { return true }
        if c < 64 { return (wordSpecialLow >> UInt64(c)) & 1 == 0 }
        return (wordSpecialHigh >> UInt64(c &- 64)) & 1 == 0
    }

    /// ``isPlainWordByte(_:)`` as 256 flags, read with one load per byte in the scanner's word loop (written once,
    /// at first use, then only read).
    nonisolated(unsafe) static let plainWordTable: UnsafePointer<Bool> = {
        let table = UnsafeMutablePointer<Bool>.allocate(capacity: 256)
        for c in 0 ..< 256 { table[c] = isPlainWordByte(UInt8(c)) }
        return UnsafePointer(table)
    }()

    /// Byte classes of ``ScriptScanner/skipUtilityLine(from:)``, as bits of ``lineClasses``: a plain word byte
    /// (``isPlainWordByte(_:)``), an identifier byte (plain too), a space or tab, the newline, and `/` or `=`
    /// (plain, but not in a command name the fast path takes).
    static let plainClass: UInt8 = 1
    static let identifierClass: UInt8 = 2
    static let blankClass: UInt8 = 4
    static let newlineClass: UInt8 = 8
    static let nameStopClass: UInt8 = 16

    /// The classes of all 256 bytes, one load per byte (written once, at first use, then only read).
    nonisolated(unsafe) static let lineClasses: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for c in 0 ..< 256 {
            let byte = UInt8(c)
            var k: UInt8 = 0
            if isPlainWordByte(byte) { k |= plainClass }
            if isIdentifier(byte) { k |= identifierClass }
            if byte == space || byte == tab { k |= blankClass }
            if byte == nl { k |= newlineClass }
            if byte == slash || byte == eq { k |= nameStopClass }
            table[c] = k
        }
        return UnsafePointer(table)
    }()

    @inline(__always) static func isIdentifier(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || isDigit(c) || c == underscore
    }
}

/// The single-pass reader behind ``BatchScriptAnalysis/analyze(_:maxBytes:)-(UnsafeRawBufferPointer,_)``.
///
/// Work is linear in the bytes: every loop advances through the buffer or through a bounded token list,
/// and per-command work is capped by ``maxWords``.
struct ScriptScanner {
    /// Words kept per command; later words are tokenised but not examined.
    static let maxWords = 48
    /// Tokens read per `#SBATCH` line.
    static let maxDirectiveTokens = 32
    /// Longest here-document delimiter compared.
    static let maxDelimiter = 256
    /// Bytes of a word kept after unquoting: longer words are cut (their basenames then come from the cut).
    static let maxWordBytes = 512
    /// Longest word or option name of the vocabulary, in bytes.
    static let maxKnownWord = 40
    /// Nesting of launcher → interpreter → launcher resolution (`srun python -m torch.distributed.run …`).
    static let maxLauncherDepth = 3

    let b: UnsafeRawBufferPointer
    let n: Int
    /// ``Byte/lineClasses`` and ``ScriptVocabulary/commands``, read once per script (each read of a global is a
    /// call to check its one-time initialisation: twice per line in ``skipUtilityLine(from:)``).
    let lineClasses = Byte.lineClasses
    let commands = Vocabulary.commands

    /// Tokens of the current command or `#SBATCH` line, as ranges in one index space: below `n` they are
    /// bytes of the script itself (words without quotes or escapes, read in place), from `n` on they are
    /// bytes of ``scratch`` (unquoted words) shifted by `n`. Read them with ``byte(_:)``.
    var toks: [Range<Int>] = []
    var scratch: [UInt8] = []
    /// A word of the current command: its raw byte range, and whether it holds quotes or escapes.
    struct Word {
        var range: Range<Int>
        var quoted: Bool
    }
    var words: [Word] = []
    /// Here-document: 0 none, 1 waiting for the delimiter word, 2 body starts at the next newline.
    var heredocState = 0
    var heredocStripTabs = false
    var heredoc: [UInt8] = []
    var caseDepth = 0
    /// Inside `case … in` where words up to `)` are a pattern, not a command.
    var casePattern = false

    var interpreter: String?
    var interpreterIsShell = true
    var directives: [SbatchDirective] = []
    var launchers = LauncherSet()
    var launcherCount = 0
    var modules: [String] = []
    var launcherProgram: String?
    var lastPlain: String?
    var explicitGPUs = 0
    var gpuHinted = false
    var loops = 0
    var arrayHint = false
    /// Whether ``skipUtilityLine(from:)`` may take simple utility command lines off the general tokeniser.
    var fastPaths = true

    init(_ bytes: UnsafeRawBufferPointer) {
        b = bytes
        n = bytes.count
        scratch.reserveCapacity(Swift.min(n, 4096))
        toks.reserveCapacity(Self.maxWords)
        words.reserveCapacity(Self.maxWords)
    }

    mutating func run() {
        let body = readHeader()
        if interpreterIsShell {
            if body < n { scanBody(from: body) }
        } else {
            lastPlain = interpreter
        }
    }

    func fill(_ a: inout BatchScriptAnalysis) {
        a.interpreter = interpreter
        a.directives = directives
        a.launchers = launchers
        a.launcherCount = launcherCount
        a.modules = modules
        a.mainExecutable = launcherProgram ?? lastPlain
        a.gpuHints = explicitGPUs > 0 ? explicitGPUs : (gpuHinted ? 1 : 0)
        a.loopCount = loops
        a.arrayHint = arrayHint
    }

    // MARK: - Shell body

    /// Tokenises the shell body from `start`, handing each finished command to ``endCommand(_:)``.
    mutating func scanBody(from start: Int) {
        let b = self.b
        let n = self.n
        let plain = Byte.plainWordTable
        var i = start
        var inWord = false
        var wordStart = 0
        var quote: UInt8 = 0
        var nest = 0
        var quoted = false
        var redirect = false
        while i < n {
            let c = b[i]
            if inWord {
                if quote != 0 {
                    if c == quote {
                        quote = 0
                    } else if c == Byte.backslash && quote != Byte.squote {
                        i &+= 1
                    }
                    i &+= 1
                    continue
                }
                if nest > 0 {
                    if c == Byte.lparen || c == Byte.lbrace {
                        nest &+= 1
                    } else if c == Byte.rparen || c == Byte.rbrace {
                        nest &-= 1
                    } else if c == Byte.backslash {
                        i &+= 1
                    }
                    i &+= 1
                    continue
                }
                if plain[Int(c)] {
                    i &+= 1
                    while i < n && plain[Int(b[i])] { i &+= 1 }
                    continue
                }
                var separator = false
                switch c {
                case Byte.dquote, Byte.squote, Byte.backtick:
                    quote = c
                    quoted = true
                case Byte.backslash:
                    quoted = true
                    if i &+ 2 < n && b[i &+ 1] == Byte.cr && b[i &+ 2] == Byte.nl { i &+= 2 } else { i &+= 1 }
                case Byte.lparen:
                    // `$(…)`, `a=(…)`, `@(…)`: kept inside the word; otherwise a separator.
                    let p = i > wordStart ? b[i &- 1] : 0
                    if p == Byte.dollar || p == Byte.eq || p == Byte.at || p == Byte.plus || p == Byte.star
                        || p == Byte.question || p == Byte.bang
                    {
                        nest = 1
                    } else {
                        separator = true
                    }
                case Byte.lbrace:
                    if i > wordStart && b[i &- 1] == Byte.dollar { nest = 1 }
                case Byte.space, Byte.tab, Byte.cr, Byte.nl, Byte.semi, Byte.amp, Byte.pipe, Byte.rparen, Byte.lt,
                    Byte.gt:
                    separator = true
                default:
                    break
                }
                if !separator {
                    i &+= 1
                    continue
                }
                // A file-descriptor number glued to a redirection (`2>`) is not a word.
                let fd = (c == Byte.lt || c == Byte.gt) && isDescriptor(wordStart ..< i)
                finishWord(Word(range: wordStart ..< i, quoted: quoted), drop: fd, redirect: &redirect)
                inWord = false
            }
            switch c {
            case Byte.space, Byte.tab, Byte.cr, Byte.vt, Byte.ff:
                i &+= 1
            case Byte.nl:
                endCommand(redirect: &redirect)
                i &+= 1
                if heredocState == 2 { i = skipHeredoc(from: i) }
                heredocState = 0
            case Byte.hash:
                i = lineEnd(from: i)
            case Byte.semi:
                if caseDepth > 0 && i &+ 1 < n && b[i &+ 1] == Byte.semi {
                    endCommand(redirect: &redirect)
                    casePattern = true
                    i &+= 2
                } else {
                    endCommand(redirect: &redirect)
                    i &+= 1
                }
            case Byte.amp, Byte.pipe:
                endCommand(redirect: &redirect)
                i &+= 1
            case Byte.lparen:
                if words.isEmpty {
                    // `((…))` arithmetic is skipped whole; `(` alone opens a subshell.
                    if i &+ 1 < n && b[i &+ 1] == Byte.lparen { i = skipParens(from: i) } else { i &+= 1 }
                } else if words.count == 1 && ScriptText.hash(b, words[0].range) == Self.forHash {
                    loops &+= 1
                    words.removeAll(keepingCapacity: true)
                    i = skipParens(from: i)
                } else {
                    // `name() {` defines a function: no command here.
                    words.removeAll(keepingCapacity: true)
                    redirect = false
                    i &+= 1
                }
            case Byte.rparen:
                if casePattern {
                    words.removeAll(keepingCapacity: true)
                    casePattern = false
                    redirect = false
                } else {
                    endCommand(redirect: &redirect)
                }
                i &+= 1
            case Byte.lt, Byte.gt:
                var j = i &+ 1
                if c == Byte.lt && j < n && b[j] == Byte.lt {
                    j &+= 1
                    if j < n && b[j] == Byte.lt {
                        j &+= 1
                        redirect = true  // here-string
                    } else {
                        heredocStripTabs = j < n && b[j] == Byte.dash
                        if heredocStripTabs { j &+= 1 }
                        heredocState = 1
                    }
                } else {
                    while j < n && (b[j] == Byte.gt || b[j] == Byte.amp || b[j] == Byte.pipe) { j &+= 1 }
                    redirect = true
                }
                i = j
            case Byte.backslash:
                // A line continuation between words; otherwise an escaped character starts a word.
                if i &+ 1 < n && b[i &+ 1] == Byte.nl {
                    i &+= 2
                } else if i &+ 2 < n && b[i &+ 1] == Byte.cr && b[i &+ 2] == Byte.nl {
                    i &+= 3
                } else {
                    inWord = true
                    wordStart = i
                    quote = 0
                    nest = 0
                    quoted = true
                }
            default:
                // Most lines of a script run a utility with plain arguments (`cp a b  # comment`): they change
                // nothing of the analysis, so they are skipped without the general tokeniser when nothing is
                // pending (no words, here-document, redirection or case pattern).
                if fastPaths && words.isEmpty && heredocState == 0 && !casePattern && !redirect,
                    let next = skipUtilityLine(from: i)
                {
                    i = next
                    continue
                }
                inWord = true
                wordStart = i
                quote = 0
                nest = 0
                quoted = false
            }
        }
        if inWord { finishWord(Word(range: wordStart ..< n, quoted: quoted), drop: false, redirect: &redirect) }
        endCommand(redirect: &redirect)
    }

    static let forHash = ScriptText.hash("for")

    /// The fast path of ``scanBody(from:)`` for a command starting at `start` (nothing pending): when the line
    /// is a utility (``ScriptVocabulary/Kind/utility``, named without `/` or `=`) followed by words of plain bytes
    /// (``Byte/plainWordTable``) separated by spaces or tabs, perhaps a `#` comment, and a newline, the general
    /// tokeniser would find one command that changes nothing (a utility is never the application, and no word
    /// holds an identifier run long enough for ``scanIdentifiers(_:)``). Returns the index after that newline;
    /// nil for any other line (quotes, escapes, separators, redirections, `$(`/`${`, CR, a last line without a
    /// newline, an identifier of 18 bytes or more, …), which the caller then tokenises as usual.
    /// - Complexity: O(line length).
    /// `mutating` though it changes nothing: a non-mutating method of this large struct, called from ``scanBody(from:)``,
    /// got a copy of the scanner (its fields copied and its arrays retained and released) on every line; callgrind,
    /// a new 4 KB script of 55 command lines: 2,100 fewer instructions per script (of about 60,800).
    mutating func skipUtilityLine(from start: Int) -> Int? {
        let b = self.b
        let n = self.n
        let classes = lineClasses
        var i = start
        var name = ScriptText.fnvOffset  // ScriptText.hash of the name's bytes, as they are read
        while i < n {
            let c = b[i]
            let k = classes[Int(c)]
            guard k & (Byte.plainClass | Byte.nameStopClass) == Byte.plainClass else { break }
            name = (name ^ UInt64(c)) &* ScriptText.fnvPrime
            i &+= 1
        }
        guard i > start, i &- start <= Self.maxKnownWord, i < n,
            classes[Int(b[i])] & (Byte.blankClass | Byte.newlineClass) != 0,
            commands[name]?.kind == .utility
        else { return nil }
        var atWordStart = false
        while i < n {
            let c = b[i]
            let k = classes[Int(c)]
            if k & Byte.identifierClass != 0 {
                // A run of identifier bytes at once (most bytes of a line): too long a run is a name that
                // ``scanIdentifiers(_:)`` might know.
                let run = i
                repeat { i &+= 1 } while i < n && classes[Int(b[i])] & Byte.identifierClass != 0
                if i &- run >= 18 { return nil }
                atWordStart = false
                continue
            }
            if k & Byte.blankClass != 0 {
                atWordStart = true
            } else if k & Byte.plainClass != 0 {
                if atWordStart && c == Byte.hash {
                    let e = lineEnd(from: i)
                    return e < n ? e &+ 1 : n
                }
                atWordStart = false
            } else {
                return k & Byte.newlineClass != 0 ? i &+ 1 : nil
            }
            i &+= 1
        }
        return nil
    }

    /// Index of the next newline at or after `start`, or `n` (memchr: comments are much of a script).
    @inline(__always) func lineEnd(from start: Int) -> Int {
        guard start < n, let base = b.baseAddress else { return n }
        guard let p = memchr(base + start, Int32(Byte.nl), n &- start) else { return n }
        return base.distance(to: UnsafeRawPointer(p))
    }

    /// Whether a word is a file-descriptor number (`2` in `2>&1`).
    func isDescriptor(_ r: Range<Int>) -> Bool {
        guard !r.isEmpty && r.count <= 4 else { return false }
        for k in r where !Byte.isDigit(b[k]) { return false }
        return true
    }

    /// Index after the parenthesis group opening at `start` (quotes ignored), or `n`.
    func skipParens(from start: Int) -> Int {
        var depth = 0
        var i = start
        while i < n {
            let c = b[i]
            if c == Byte.lparen {
                depth &+= 1
            } else if c == Byte.rparen {
                depth &-= 1
                if depth <= 0 { return i &+ 1 }
            }
            i &+= 1
        }
        return n
    }

    /// Index after the line that ends the here-document whose body starts at `start`, or `n`.
    func skipHeredoc(from start: Int) -> Int {
        var p = start
        while p < n {
            let e = lineEnd(from: p)
            var s = p
            if heredocStripTabs { while s < e && b[s] == Byte.tab { s &+= 1 } }
            var end = e
            if end > s && b[end &- 1] == Byte.cr { end &-= 1 }
            if end &- s == heredoc.count {
                var same = true
                var k = 0
                while k < heredoc.count {
                    if b[s &+ k] != heredoc[k] {
                        same = false
                        break
                    }
                    k &+= 1
                }
                if same { return Swift.min(e &+ 1, n) }
            }
            p = e &+ 1
        }
        return n
    }

    mutating func finishWord(_ word: Word, drop: Bool, redirect: inout Bool) {
        scanIdentifiers(word.range)
        if heredocState == 1 {
            heredoc.removeAll(keepingCapacity: true)
            let b = self.b
            Self.unquote(b, word.range, into: &heredoc, limit: Self.maxDelimiter)
            heredocState = 2
            return
        }
        if redirect {
            redirect = false
            return
        }
        if drop { return }
        if words.count < Self.maxWords { words.append(word) }
    }

    /// Notes the environment variables that hint at an array job or GPUs, wherever they appear in a word.
    mutating func scanIdentifiers(_ range: Range<Int>) {
        guard range.count >= 18 else { return }
        var start = -1
        var k = range.lowerBound
        while k <= range.upperBound {
            if k < range.upperBound && Byte.isIdentifier(b[k]) {
                if start < 0 { start = k }
            } else if start >= 0 {
                let length = k &- start
                if length >= 18 && length <= 20 {
                    let h = ScriptText.hash(b, start ..< k)
                    if h == ScriptVocabulary.identArrayTask || h == ScriptVocabulary.identArrayJob {
                        arrayHint = true
                    } else if h == ScriptVocabulary.identCudaDevices || h == ScriptVocabulary.identRocrDevices
                        || h == ScriptVocabulary.identHipDevices
                    {
                        gpuHinted = true
                    }
                }
                start = -1
            }
            k &+= 1
        }
    }

    mutating func endCommand(redirect: inout Bool) {
        redirect = false
        if heredocState == 1 { heredocState = 0 }
        guard !words.isEmpty else { return }
        if casePattern {
            // Words before `)` are a pattern; `esac` closes the case.
            if ScriptText.hash(b, words[0].range) == Self.esacHash {
                caseDepth = Swift.max(0, caseDepth &- 1)
                casePattern = false
            }
            words.removeAll(keepingCapacity: true)
            return
        }
        scratch.removeAll(keepingCapacity: true)
        toks.removeAll(keepingCapacity: true)
        let b = self.b
        let n = self.n
        for w in words {
            if w.quoted {
                let s = scratch.count
                Self.unquote(b, w.range, into: &scratch, limit: Self.maxWordBytes)
                toks.append(n &+ s ..< n &+ scratch.count)
            } else {
                let r = w.range
                toks.append(r.lowerBound ..< Swift.min(r.upperBound, r.lowerBound &+ Self.maxWordBytes))
            }
        }
        words.removeAll(keepingCapacity: true)
        processCommand()
    }

    static let esacHash = ScriptText.hash("esac")

    /// Appends the bytes of a shell word without its quotes, escapes and line continuations, at most `limit`.
    static func unquote(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, into out: inout [UInt8], limit: Int) {
        var i = Swift.max(0, r.lowerBound)
        let end = Swift.min(r.upperBound, b.count)
        var quote: UInt8 = 0
        var budget = limit
        // Plain bytes are copied in runs; `run` is the start of the pending run.
        var run = i
        @inline(__always) func flush(_ upTo: Int) {
            let count = Swift.min(upTo &- run, budget)
            if count > 0 {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[run ..< run &+ count]))
                budget &-= count
            }
        }
        while i < end && budget > 0 {
            if i &- run >= budget { break }  // the pending run already fills the budget
            let c = b[i]
            if quote == Byte.squote {
                if c == Byte.squote {
                    flush(i)
                    quote = 0
                    run = i &+ 1
                }
                i &+= 1
                continue
            }
            if c == Byte.backslash {
                flush(i)
                let next: UInt8 = i &+ 1 < end ? b[i &+ 1] : 0
                if next == Byte.nl {
                    i &+= 2
                } else if next == Byte.cr && i &+ 2 < end && b[i &+ 2] == Byte.nl {
                    i &+= 3
                } else if i &+ 1 >= end {
                    i &+= 1
                } else if quote == Byte.dquote && next != Byte.dollar && next != Byte.backtick
                    && next != Byte.dquote && next != Byte.backslash
                {
                    run = i  // the backslash stays
                    i &+= 1
                    continue
                } else {
                    run = i &+ 1  // the escaped byte starts the next run
                    i &+= 2
                    continue
                }
                run = i
                continue
            }
            if quote == Byte.dquote {
                if c == Byte.dquote {
                    flush(i)
                    quote = 0
                    run = i &+ 1
                }
                i &+= 1
                continue
            }
            if c == Byte.dquote || c == Byte.squote {
                flush(i)
                quote = c
                run = i &+ 1
            }
            i &+= 1
        }
        if budget > 0 { flush(Swift.min(i, end)) }
    }
}
