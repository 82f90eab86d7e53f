// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCLI
import Testing

@Test func textTableSizesColumnsToTheirWidestCell() {
    var t = TextTable(header: ["policy", "wait_s", "idle_h"])
    t.add(["reactive", "126.7", "9733"])
    t.add(["prewarm_a1.0_idle300_b0.0", "63.7", "13647"])
    t.add(["short"])  // missing cells are left blank
    #expect(t.text == """
        policy                     wait_s  idle_h
        reactive                    126.7    9733
        prewarm_a1.0_idle300_b0.0    63.7   13647
        short

        """)
}
