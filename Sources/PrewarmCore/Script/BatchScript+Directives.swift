// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// The header of a batch script: the `#!` line and the `#SBATCH` directives, read as sbatch reads them
/// (slurm `src/sbatch/opt.c`: a line starting with `#SBATCH` in column 0 is tokenised by
/// `_get_argument`, and reading stops at the first line that is neither blank nor a comment).
extension ScriptScanner {
    static let sbatchMagic: [UInt8] = Array("#SBATCH".utf8)

    /// Reads the header and returns the offset of the first line of the body (or `n`).
    mutating func readHeader() -> Int {
        let b = self.b
        var i = 0
        var line = 0
        while i < n {
            let e = lineEnd(from: i)
            var end = e
            if end > i && b[end &- 1] == Byte.cr { end &-= 1 }
            if line == 0 && end &- i >= 2 && b[i] == Byte.hash && b[i &+ 1] == Byte.bang {
                readInterpreter(i &+ 2 ..< end)
            } else if startsWithMagic(i, end) {
                if directives.count < BatchScriptAnalysis.maxDirectives {
                    readDirectiveLine(i &+ Self.sbatchMagic.count ..< end)
                }
            } else {
                var k = i
                while k < end && Byte.isBlank(b[k]) { k &+= 1 }
                if k < end && b[k] != Byte.hash { return i }
            }
            i = e &+ 1
            line &+= 1
        }
        return n
    }

    func startsWithMagic(_ i: Int, _ end: Int) -> Bool {
        let m = Self.sbatchMagic
        guard end &- i >= m.count else { return false }
        for k in 0 ..< m.count where b[i &+ k] != m[k] { return false }
        return true
    }

    /// `#!/bin/bash -l` → `bash`; `#!/usr/bin/env -S python3 -u` → `python3`.
    mutating func readInterpreter(_ r: Range<Int>) {
        toks.removeAll(keepingCapacity: true)
        var i = r.lowerBound
        while i < r.upperBound && toks.count < 8 {
            while i < r.upperBound && Byte.isBlank(b[i]) { i &+= 1 }
            guard i < r.upperBound else { break }
            let s = i
            while i < r.upperBound && !Byte.isBlank(b[i]) { i &+= 1 }
            toks.append(s ..< i)  // in place
        }
        guard !toks.isEmpty else { return }
        var program = basename(toks[0])
        if hash(program) == Self.envHash {
            var k = 1
            while k < toks.count && (isOption(toks[k]) || isAssignment(toks[k])) { k &+= 1 }
            guard k < toks.count else {
                interpreter = "env"
                return
            }
            program = basename(toks[k])
        }
        interpreter = string(program)
        interpreterIsShell = !(isPython(program) || ScriptVocabulary.nonShellInterpreters.contains(hash(program)))
    }

    static let envHash = ScriptText.hash("env")

    /// Tokenises the rest of an `#SBATCH` line like sbatch's `_get_argument` (whitespace separates,
    /// `"…"`/`'…'` group, `\` escapes, an unquoted `#` ends the line), then reads the options like getopt.
    mutating func readDirectiveLine(_ r: Range<Int>) {
        scratch.removeAll(keepingCapacity: true)
        toks.removeAll(keepingCapacity: true)
        var i = r.lowerBound
        var comment = false
        while i < r.upperBound && !comment && toks.count < Self.maxDirectiveTokens {
            while i < r.upperBound && Byte.isBlank(b[i]) { i &+= 1 }
            guard i < r.upperBound, b[i] != Byte.hash else { break }
            let s = scratch.count
            var quote: UInt8 = 0
            var escape = false
            while i < r.upperBound {
                let c = b[i]
                if escape {
                    escape = false
                } else if c == Byte.backslash {
                    escape = true
                    i &+= 1
                    continue
                } else if quote != 0 {
                    if c == quote {
                        quote = 0
                        i &+= 1
                        continue
                    }
                } else if Byte.isBlank(c) {
                    break
                } else if c == Byte.dquote || c == Byte.squote {
                    quote = c
                    i &+= 1
                    continue
                } else if c == Byte.hash {
                    comment = true
                    break
                }
                scratch.append(c)
                i &+= 1
            }
            if scratch.count > s { toks.append(n &+ s ..< n &+ scratch.count) }
        }
        readDirectiveOptions()
    }

    /// getopt over ``toks``: `--name=value`, `--name value`, `-t 10`, `-t10`, clustered short flags.
    mutating func readDirectiveOptions() {
        var j = 0
        let count = toks.count
        while j < count && directives.count < BatchScriptAnalysis.maxDirectives {
            let t = toks[j]
            j &+= 1
            guard isOption(t) else { continue }  // sbatch rejects stray words; `hetjob` separates components
            if byte(t.lowerBound &+ 1) == Byte.dash {
                guard length(t) > 2 else { break }  // `--` ends the options
                var name = t.lowerBound &+ 2 ..< t.upperBound
                var value: Range<Int>? = nil
                if let eq = firstIndex(of: Byte.eq, in: name) {
                    value = eq &+ 1 ..< t.upperBound
                    name = name.lowerBound ..< eq
                } else if !ScriptVocabulary.sbatchFlags.contains(hash(name)) && j < count {
                    value = toks[j]
                    j &+= 1
                }
                addDirective(string(name), value)
                continue
            }
            var k = t.lowerBound &+ 1
            while k < t.upperBound && directives.count < BatchScriptAnalysis.maxDirectives {
                let c = byte(k)
                guard let option = ScriptVocabulary.sbatchShort(c) else {
                    addDirective(string(k ..< k &+ 1), nil)  // unknown: kept under its letter
                    break
                }
                guard option.takesValue else {
                    addDirective(option.name, nil)
                    k &+= 1
                    continue
                }
                if k &+ 1 < t.upperBound {
                    addDirective(option.name, k &+ 1 ..< t.upperBound)
                } else if j < count {
                    addDirective(option.name, toks[j])
                    j &+= 1
                } else {
                    addDirective(option.name, nil)
                }
                break
            }
        }
    }

    mutating func addDirective(_ name: String, _ value: Range<Int>?) {
        guard directives.count < BatchScriptAnalysis.maxDirectives else { return }
        directives.append(SbatchDirective(name: name, value: value.map(string) ?? ""))
        if name == "array" { arrayHint = true }
        if let v = value, let kind = ScriptVocabulary.gpuOptions[ScriptText.hash(name)] {
            explicitGPUs = Swift.max(explicitGPUs, gpuCount(v, kind))
        }
    }
}
