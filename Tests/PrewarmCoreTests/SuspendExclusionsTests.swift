// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

private func sets(_ value: String, _ syntax: SuspendExclusionSyntax) -> [String] {
    SuspendExcludedNodes.parse(value, syntax: syntax).entries.map { e in
        (e.all ? "ALL" : e.names.joined(separator: " ")) + (e.count.map { ":\($0)" } ?? "")
    }
}

/// slurm.conf(5) of Slurm 22.05: "nid[10-20]:4,nid[60-70]" keeps 4 of nid[10-20] and all of nid[60-70], while
/// "nid[1-3],nid[10-20]:4" keeps 4 of the set nid[1-3],nid[10-20] (the text before each count is one set).
@Test func slurm2205ReadsTheTextBeforeEachCountAsOneSet() {
    #expect(sets("n[1-3]", .upTo2311) == ["n1 n2 n3"])
    #expect(sets("a[1-4]:2,b[1-2]", .upTo2311) == ["a1 a2 a3 a4:2", "b1 b2"])
    #expect(sets("a[1-2],b[1-3]:4", .upTo2311) == ["a1 a2 b1 b2 b3:4"])
    #expect(sets("a[1-4]:2,b[1-4]:1,c1", .upTo2311) == ["a1 a2 a3 a4:2", "b1 b2 b3 b4:1", "c1"])
    // A count of the whole set keeps it whole.
    #expect(sets("a[1-2]:2", .upTo2311) == ["a1 a2"])
    // A count slurmctld rejects (0, more than the set, not a number): it ignores the value; prewarmd keeps all.
    for bad in ["a[1-2]:0,b1", "a[1-2]:3,b1", "a[1-2]:x,b1", "a[1-2]:2x,b1"] {
        let parsed = SuspendExcludedNodes.parse(bad, syntax: .upTo2311)
        #expect(parsed.entries.allSatisfy { $0.count == nil }, "\(bad)")
        #expect(parsed.invalidCounts.count == 1, "\(bad)")
        #expect(parsed.entries.flatMap(\.names) == ["a1", "a2", "b1"], "\(bad)")
    }
    #expect(SuspendExcludedNodes.parse("  ", syntax: .upTo2311).isEmpty)
}

/// Slurm 24.05 on: each comma-separated item is a set of its own; a count of 0 or none keeps the whole set; ALL.
@Test func slurm2405ReadsEveryItemAsItsOwnSet() {
    #expect(sets("a[1-2],b[1-3]:2", .since2405) == ["a1 a2", "b1 b2 b3:2"])
    #expect(sets("a[1-4]:2,b[1-4]:1,c1", .since2405) == ["a1 a2 a3 a4:2", "b1 b2 b3 b4:1", "c1"])
    // Commas inside brackets do not split the item.
    #expect(sets("a[1,3,5]:1", .since2405) == ["a1 a3 a5:1"])
    #expect(sets("a[1-2]:0,b1:-3,c[1-2]:9", .since2405) == ["a1 a2", "b1", "c1 c2"])
    #expect(sets("all:3", .since2405) == ["ALL:3"])
    #expect(sets("ALL", .since2405) == ["ALL"])
    // strtol's reading of the count: leading digits only.
    #expect(sets("a[1-4]:2nodes", .since2405) == ["a1 a2 a3 a4:2"])
}

/// What no hostlist is cannot be expanded: said, with the item.
@Test func unreadableItemsAreNamed() {
    let parsed = SuspendExcludedNodes.parse("n[1-2,x]:1,m1", syntax: .since2405)
    #expect(parsed.entries.map(\.names) == [["m1"]])
    #expect(parsed.unreadable.count == 1)
    #expect(parsed.unreadable.first?.contains("'n[1-2,x]'") == true)
}

@Test func theSyntaxFollowsTheRelease() {
    #expect(SuspendExclusionSyntax(versionNumber: 22 << 16 | 5 << 8 | 8) == .upTo2311)
    #expect(SuspendExclusionSyntax(versionNumber: 23 << 16 | 11 << 8 | 10) == .upTo2311)
    #expect(SuspendExclusionSyntax(versionNumber: 24 << 16 | 5 << 8) == .since2405)
    #expect(SuspendExclusionSyntax(versionNumber: 26 << 16 | 5 << 8 | 5) == .since2405)
}

/// slurmctld 24.11's `_parse_exc_states`: DOWN from two letters; otherwise the first flag of its table that the token
/// starts or is started by (so `D` is DRAIN, `RES` RESERVED, `NOT` NOT_RESPONDING); flags it does not take, such as
/// POWER_DOWN (`P`) or COMPLETING, and `NO_RESPOND`, which is no prefix of NOT_RESPONDING, are rejected.
@Test func suspendExcStatesAreReadAsSlurmReadsThem() {
    let s = SuspendExcludedStates.parse("cloud, Do,maint,NOT,res,PL,D,dynamic,INVALID_REG,fail")
    #expect(s.states == [.cloud, .down, .maintenance, .notResponding, .reserved, .planned, .drain, .dynamicFuture,
        .invalidRegistration, .fail])
    #expect(s.unknown.isEmpty)
    #expect(SuspendExcludedStates.parse("bogus,P,COMPLETING,NO_RESPOND,DOWNX").unknown
        == ["bogus", "P", "COMPLETING", "NO_RESPOND", "DOWNX"])
    #expect(SuspendExcludedStates.parse("").states.isEmpty)
}
