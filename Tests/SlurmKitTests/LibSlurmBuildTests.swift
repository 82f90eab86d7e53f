// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import SlurmKit
import Testing

/// The test build must talk to Slurm: without Slurm's headers SlurmKit builds a client that fails every call
/// (so that `prewarm simulate` works on a machine without libslurm-dev), and the integration tests would then
/// fail for a reason far from here. `scripts/test` installs libslurm-dev before it builds.
@Test func testBuildIsBuiltAgainstLibslurm() {
    #expect(LibSlurmClient.isAvailable, "built without /usr/include/slurm/slurm.h: install libslurm-dev, rm -rf .build")
    // The reason codes are Slurm's, distinct, and not the stand-ins of a build without Slurm.
    let r = SlurmJob.limitReasons
    let all = r.array.union(r.user).union(r.account).union(r.qos)
    #expect(all.count == r.array.count + r.user.count + r.account.count + r.qos.count)
    #expect(!all.contains(.max - 2))
    #expect(SlurmJob.heldReasons.0 != UInt16.max)
}
