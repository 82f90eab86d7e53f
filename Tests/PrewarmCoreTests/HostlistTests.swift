// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

@Suite("Slurm hostlists")
struct HostlistTests {
    @Test("hand-checked expansions (cases from Slurm's slurm.conf and scontrol docs)")
    func expansions() throws {
        #expect(try Hostlist.expand("tux[1-3]") == ["tux1", "tux2", "tux3"])
        #expect(try Hostlist.expand("tux[1,3,5]") == ["tux1", "tux3", "tux5"])
        #expect(try Hostlist.expand("lx[10-12]") == ["lx10", "lx11", "lx12"])
        #expect(try Hostlist.expand("n[08-11]") == ["n08", "n09", "n10", "n11"])
        #expect(try Hostlist.expand("n[8-11]") == ["n8", "n9", "n10", "n11"])
        #expect(try Hostlist.expand("n[098-101]") == ["n098", "n099", "n100", "n101"])
        #expect(
            try Hostlist.expand("node[01-04,7],gpu[1-2]")
                == ["node01", "node02", "node03", "node04", "node7", "gpu1", "gpu2"])
        #expect(
            try Hostlist.expand("rack[1-2]n[1-3]")
                == ["rack1n1", "rack1n2", "rack1n3", "rack2n1", "rack2n2", "rack2n3"])
        #expect(try Hostlist.expand("n[1-2]-ib") == ["n1-ib", "n2-ib"])
        #expect(try Hostlist.expand("node3") == ["node3"])
        #expect(try Hostlist.expand("login,n[1-2],gw") == ["login", "n1", "n2", "gw"])
        #expect(try Hostlist.expand("a-b.example.org") == ["a-b.example.org"])
        #expect(try Hostlist.expand("[1-3]") == ["1", "2", "3"])
        #expect(try Hostlist.expand("n[5]") == ["n5"])
        #expect(try Hostlist.expand("n[0-0]") == ["n0"])
        #expect(try Hostlist.expand("  node[2-3]\n") == ["node2", "node3"])
        #expect(try Hostlist.expand("n[1-2],n[1-2]") == ["n1", "n2", "n1", "n2"])
        // slurm.conf(5): "NodeName=rack[0-63]_blade[0-41]" names 64 × 42 nodes.
        let blades = try Hostlist.expand("rack[0-63]_blade[0-41]")
        #expect(blades.count == 2688)
        #expect(blades.first == "rack0_blade0")
        #expect(blades.last == "rack63_blade41")
    }

    private func failure(_ text: String) -> HostlistError? {
        do {
            _ = try Hostlist.expand(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("errors name the position and the problem")
    func errors() {
        #expect(failure("n[1-3") == HostlistError(position: 1, reason: .unclosedBracket))
        #expect(failure("n1-3]") == HostlistError(position: 4, reason: .unopenedBracket))
        #expect(failure("n[1-[2]]") == HostlistError(position: 4, reason: .nestedBracket))
        #expect(failure("n[5-3]") == HostlistError(position: 2, reason: .reversedRange(low: "5", high: "3")))
        #expect(failure("a,,b") == HostlistError(position: 2, reason: .emptyItem))
        #expect(failure("a,") == HostlistError(position: 2, reason: .emptyItem))
        #expect(failure(",a") == HostlistError(position: 0, reason: .emptyItem))
        #expect(failure("") == HostlistError(position: 0, reason: .emptyItem))
        #expect(failure("n[]") == HostlistError(position: 2, reason: .emptyRange))
        #expect(failure("n[1,]") == HostlistError(position: 4, reason: .emptyRange))
        #expect(failure("n[1-]") == HostlistError(position: 4, reason: .emptyRange))
        #expect(failure("n[a-3]") == HostlistError(position: 2, reason: .nonNumericRange("a-3")))
        #expect(failure("n[1-3x]") == HostlistError(position: 4, reason: .nonNumericRange("1-3x")))
        #expect(failure("n[-1-3]") == HostlistError(position: 2, reason: .emptyRange))
        #expect(failure("n[1-2-3]") == HostlistError(position: 4, reason: .nonNumericRange("1-2-3")))
        #expect(failure("a b") == HostlistError(position: 1, reason: .invalidCharacter(0x20)))
        #expect(
            failure("n[1234567890123456789]")
                == HostlistError(position: 2, reason: .numberTooLarge("1234567890123456789")))
        let message = failure("n[5-3]").map { "\($0)" } ?? ""
        #expect(message.contains("column 3"))
        #expect(message.contains("reversed range 5-3"))
        #expect("\(HostlistError(position: 1, reason: .unclosedBracket))".contains("unbalanced bracket"))
    }

    @Test("caps on the expanded count and the input length")
    func caps() throws {
        #expect(failure("n[0-999999999]")?.reason == .tooManyNames(limit: Hostlist.maxNames))
        #expect(failure("n[0-999999999999999999]")?.reason == .tooManyNames(limit: Hostlist.maxNames))
        #expect(failure("a[0-999]b[0-999]")?.reason == .tooManyNames(limit: Hostlist.maxNames))
        #expect(failure("a[0-60000],b[0-60000]")?.reason == .tooManyNames(limit: Hostlist.maxNames))
        #expect(try Hostlist.expand("n[1-100000]").count == Hostlist.maxNames)
        #expect(failure("n[0-100000]")?.reason == .tooManyNames(limit: Hostlist.maxNames))
        let long = String(repeating: "a", count: Hostlist.maxInputBytes + 1)
        #expect(failure(long)?.reason == .inputTooLong(limit: Hostlist.maxInputBytes))
        // Thousands of one-valued groups in one item: no deep recursion, no quadratic blow-up.
        let groups = String(repeating: "[1]", count: 20_000)
        #expect(try Hostlist.expand(groups) == [String(repeating: "1", count: 20_000)])
        // Many separate ranges in a group.
        let many = "n[" + (0 ..< 5000).map { String($0 * 2) }.joined(separator: ",") + "]"
        #expect(try Hostlist.expand(many).count == 5000)
    }

    @Test("never traps on random bytes")
    func randomInput() {
        var rng = Xoshiro256StarStar(seed: 11)
        let alphabet = Array("n0123456789[]-,x \t".utf8) + [0, 0xFF, 0xC3]
        for _ in 0 ..< 3000 {
            let length = rng.next(below: 24)
            let bytes = (0 ..< length).map { _ in alphabet[rng.next(below: alphabet.count)] }
            let text = String(decoding: bytes, as: UTF8.self)
            if let names = try? Hostlist.expand(text) {
                #expect(names.count <= Hostlist.maxNames)
            }
        }
    }

    @Test("hand-checked compression")
    func compression() throws {
        #expect(Hostlist.compress(["node1", "node2", "node3", "node4", "node7"]) == "node[1-4,7]")
        #expect(Hostlist.compress(["node7", "node3", "node1", "node4", "node2"]) == "node[1-4,7]")
        #expect(Hostlist.compress(["n10", "n9", "n8", "n11"]) == "n[8-11]")
        #expect(Hostlist.compress(["n08", "n09", "n10", "n11"]) == "n[08-11]")
        #expect(Hostlist.compress(["gpu2", "node01", "gpu1", "node02"]) == "gpu[1-2],node[01-02]")
        #expect(Hostlist.compress(["login", "n1", "n1", "n"]) == "login,n,n1")
        #expect(Hostlist.compress(["n5"]) == "n5")
        #expect(Hostlist.compress([]) == "")
        #expect(Hostlist.compress(["rack1n1", "rack1n2", "rack2n1"]) == "rack1n[1-2],rack2n1")
        #expect(Hostlist.compress(["n8", "n08"]) == "n8,n08")
        #expect(Hostlist.compress(["n098", "n099", "n100", "n101"]) == "n[098-101]")
        #expect(try Hostlist.expand(Hostlist.compress(["n098", "n099", "n100", "n101"]))
            == ["n098", "n099", "n100", "n101"])
    }

    @Test("expand(compress(x)) == sorted(x), seeded random name sets")
    func roundTrip() throws {
        var rng = Xoshiro256StarStar(seed: 2024)
        let prefixes = ["n", "node", "gpu-", "rack1n", "", "a.b"]
        for _ in 0 ..< 500 {
            var names: [String] = []
            for _ in 0 ..< rng.next(below: 60) {
                switch rng.next(below: 10) {
                case 0:
                    names.append(["login", "gw", "head", "n"][rng.next(below: 4)])
                default:
                    let prefix = prefixes[rng.next(below: prefixes.count)]
                    let n = rng.next(below: 130)
                    let width = rng.next(below: 4)  // 0–1: unpadded, 2–3: zero-padded
                    var digits = String(n)
                    while digits.count < width { digits = "0" + digits }
                    names.append(prefix + digits)
                }
            }
            let compressed = Hostlist.compress(names)
            let expected = Hostlist.sorted(names)
            if names.isEmpty {
                #expect(compressed.isEmpty)
                continue
            }
            #expect(try Hostlist.expand(compressed) == expected, "\(names) → \(compressed)")
            #expect(Set(expected) == Set(names))
            #expect(compressed.utf8.count <= names.reduce(0) { $0 + $1.utf8.count + 1 } + 2)
        }
    }
}
