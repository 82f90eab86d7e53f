// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

@Test func dependencyStringsAsSlurmReportsThem() throws {
    let one = try #require(JobDependency.parse("afterok:12(unfulfilled)"))
    #expect(one.parents == [.init(kind: .afterOK, jobID: 12, arrayTask: nil, delayMinutes: 0)])
    #expect(!one.anyOf && !one.neverSatisfied && !one.singleton)

    let all = try #require(JobDependency.parse("afterany:15_*(unfulfilled),after:16+30(unfulfilled),afterok:17:18"))
    #expect(all.parents.map(\.jobID) == [15, 16, 17, 18])
    #expect(all.parents.map(\.kind) == [.afterAny, .afterStart, .afterOK, .afterOK])
    #expect(all.parents[1].delayMinutes == 30)
    #expect(!all.anyOf)

    let any = try #require(JobDependency.parse("afterok:3_7(unfulfilled)?afternotok:4(unfulfilled)"))
    #expect(any.anyOf)
    #expect(any.parents[0].arrayTask == 7)

    #expect(JobDependency.parse("afterok:9(failed)")?.neverSatisfied == true)
    #expect(JobDependency.parse("singleton(unfulfilled)")?.singleton == true)
    // Empty or unreadable: planned as without a dependency.
    #expect(JobDependency.parse("") == nil)
    #expect(JobDependency.parse("(null)") == nil)
    #expect(JobDependency.parse("afterok:notanumber") == nil)
    #expect(JobDependency.parse("bogus:12") == nil)
}
