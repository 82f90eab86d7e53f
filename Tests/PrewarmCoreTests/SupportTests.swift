// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

@Suite("Random numbers, parallelism and matrices")
struct SupportTests {
    @Test("SplitMix64 and xoshiro256** match their reference outputs")
    func referenceOutputs() {
        var mix = SplitMix64(seed: 0)
        #expect(mix.next() == 0xE220_A839_7B1D_CDAF)
        #expect(mix.next() == 0x6E78_9E6A_A1B9_65F4)
        var xoshiro = Xoshiro256StarStar(state: (1, 2, 3, 4))
        #expect(xoshiro.next() == 11520)
        #expect(xoshiro.next() == 0)
        #expect(xoshiro.next() == 1_509_978_240)
        #expect(xoshiro.next() == 1_215_971_899_390_074_240)
    }

    @Test("bounded draws stay in range and streams differ")
    func boundedDraws() {
        var rng = Xoshiro256StarStar(seed: 5)
        var seen = [Int](repeating: 0, count: 7)
        for _ in 0 ..< 7000 {
            let v = rng.next(below: 7)
            #expect(v >= 0 && v < 7)
            seen[v] += 1
        }
        #expect(seen.allSatisfy { $0 > 800 && $0 < 1200 })
        #expect(rng.next(below: 0) == 0 && rng.next(below: -3) == 0 && rng.next(below: 1) == 0)
        let u = rng.nextUnitDouble()
        #expect(u >= 0 && u < 1)
        var a = Xoshiro256StarStar(seed: 42, stream: 0)
        var b = Xoshiro256StarStar(seed: 42, stream: 1)
        var c = Xoshiro256StarStar(seed: 42, stream: 0)
        let first = a.next()
        #expect(first != b.next())
        #expect(first == c.next())
    }

    @Test("parallelFor visits every index exactly once; parallelMap keeps order")
    func parallel() {
        for threads in [0, 1, 2, 3, 8] {
            let squares = parallelMap(count: 1000, threads: threads) { $0 * $0 }
            #expect(squares == (0 ..< 1000).map { $0 * $0 })
        }
        #expect(parallelMap(count: 0, threads: 2) { $0 }.isEmpty)
    }

    @Test("matrix validation and safe subscripts")
    func matrix() throws {
        var m = try Matrix(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 6])
        #expect(m[1, 2] == 6)
        m[0, 1] = 9
        #expect(m.values == [1, 9, 3, 4, 5, 6])
        #expect(m[2, 0].isNaN && m[-1, 0].isNaN && m[0, 3].isNaN)
        m[5, 5] = 1
        #expect(m.values == [1, 9, 3, 4, 5, 6])
        #expect(m.row(1) == [4, 5, 6])
        let filled = Matrix(rows: -2, columns: 4, repeating: 1)
        #expect(filled.rows == 0 && filled.values.isEmpty)
        let huge = Matrix(rows: Int.max, columns: 2)
        #expect(huge.rows == 0 && huge.columns == 0)
        #expect(throws: ForestError.self) { try Matrix(rows: Int.max, columns: 2, values: []) }
    }
}
