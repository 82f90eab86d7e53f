// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCore
import Testing

/// The script cache must give exactly what ``BatchScriptAnalysis/analyze(_:maxBytes:)`` gives, hit or miss.
@Suite("Script analysis cache")
struct ScriptAnalysisCacheTests {
    private static func direct(_ bytes: [UInt8], maxBytes: Int) -> BatchScriptAnalysis {
        bytes.withUnsafeBytes { BatchScriptAnalysis.analyze($0, maxBytes: maxBytes) }
    }

    @Test("hits, misses and evictions agree with the direct analysis on a stream of repeated and altered scripts")
    func agreesWithDirectAnalysis() {
        var rng = Xoshiro256StarStar(seed: 7)
        let base = [
            "#!/bin/bash\n#SBATCH -N 2 -t 60\nmodule load gcc/12 openmpi\nsrun ./lmp -in in.lj\n",
            "#!/bin/bash\n#SBATCH --gres=gpu:2\npython train.py --lr 1\n",
            "#!/usr/bin/env python3\n#SBATCH -t 5\nprint('hi')\n",
            "#!/bin/bash\ncat <<EOF\nsrun fake\nEOF\nmpirun -np 8 ./real\n",
            "\u{00FF}\u{00FE}binary\u{0000}junk",
        ].map { Array($0.utf8) }
        var scripts = base
        // Variants: one byte changed (same length: same-size candidates that must not match), cut short.
        for s in base {
            var v = s
            v[v.count / 2] ^= 0x20
            scripts.append(v)
            scripts.append(Array(s.prefix(s.count - 3)))
        }
        var cache = ScriptAnalysisCache(capacity: 4)
        var checked = 0
        for _ in 0 ..< 2000 {
            let s = scripts[rng.next(below: scripts.count)]
            // Sometimes read fewer bytes than the script has (a truncated analysis of the same bytes).
            let maxBytes = rng.next(below: 4) == 0 ? s.count / 2 : s.count
            let cached = s.withUnsafeBytes { cache.analysis(of: $0, maxBytes: maxBytes) }
            #expect(cached == Self.direct(s, maxBytes: maxBytes))
            checked += 1
        }
        #expect(checked == 2000)
        // 4 entries for 15 scripts read whole or halved: both paths taken often (seen: 347 hits, 1,653 misses).
        #expect(cache.hits > 200)
        #expect(cache.misses > 1000)
        #expect(cache.hits + cache.misses == 2000)
    }

    @Test("the script seen last is recalled without its hash, and a same-length variant after it is not taken for it")
    func lastScriptFirst() {
        let script = Array("#!/bin/bash\n#SBATCH -N 2\nsrun ./lmp -in in.lj\n".utf8)
        var variant = script
        variant[variant.count - 4] ^= 0x01  // same length, one byte apart: differs only past the last-hit check
        var cache = ScriptAnalysisCache(capacity: 4)
        var expectedHits: UInt64 = 0
        for round in 0 ..< 6 {
            let s = round % 3 == 2 ? variant : script
            for repeatCount in 0 ..< 3 {
                for maxBytes in [s.count, s.count - 1] {
                    #expect(s.withUnsafeBytes { cache.analysis(of: $0, maxBytes: maxBytes) }
                        == Self.direct(s, maxBytes: maxBytes))
                    // Misses: the first sight of each of the four (script or variant, whole or cut) keys.
                    if round > 2 || repeatCount > 0 || round == 1 { expectedHits += 1 }
                }
            }
        }
        #expect(cache.misses == 4)
        #expect(cache.hits == expectedHits)
        #expect(cache.hits + cache.misses == 36)
    }

    @Test("a truncated read and a whole script with the same first bytes are told apart")
    func truncationIsPartOfTheKey() {
        // A multi-byte character cut by the byte limit is fine in a truncated script, invalid in a whole one.
        let whole = Array("#!/bin/bash\necho é".utf8)
        let cut = Array(whole.prefix(whole.count - 1))
        var cache = ScriptAnalysisCache()
        let a = whole.withUnsafeBytes { cache.analysis(of: $0, maxBytes: cut.count) }
        let b = cut.withUnsafeBytes { cache.analysis(of: $0, maxBytes: cut.count) }
        #expect(a == Self.direct(whole, maxBytes: cut.count))
        #expect(b == Self.direct(cut, maxBytes: cut.count))
        #expect(a.truncated && !b.truncated)
        #expect(cache.misses == 2)
    }

    @Test("scripts longer than the cached size and a zero capacity are analysed every time")
    func bounds() {
        let long = Array(("#!/bin/bash\n" + String(repeating: "cp a b\n", count: 200)).utf8)
        var small = ScriptAnalysisCache(capacity: 8, maxCachedBytes: 100)
        var off = ScriptAnalysisCache(capacity: 0)
        for _ in 0 ..< 3 {
            #expect(long.withUnsafeBytes { small.analysis(of: $0, maxBytes: long.count) }
                == Self.direct(long, maxBytes: long.count))
            #expect(long.withUnsafeBytes { off.analysis(of: $0, maxBytes: long.count) }
                == Self.direct(long, maxBytes: long.count))
        }
        #expect(small.hits == 0 && off.hits == 0)
        let short = Array("#!/bin/bash\nsrun ./x\n".utf8)
        for _ in 0 ..< 3 { _ = short.withUnsafeBytes { small.analysis(of: $0, maxBytes: short.count) } }
        #expect(small.hits == 2 && small.misses == 1)
    }
}
