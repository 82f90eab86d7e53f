// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// libprewarm_submit.so: the PrewarmSubmit module linked as the library the job_submit plugin loads. This target
// only carries the link settings (static Swift runtime, NODELETE, exports limited to the C ABI by exports.lds),
// so other executables (the fuzz target) can link PrewarmSubmit without them.
@_exported import PrewarmSubmit
