// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Prewarm's version, as `prewarm --version`, `prewarmd --version` and the plugin's start-up line in slurmctld's log
/// print it. It is Packaging/VERSION's (the Debian package's upstream version): `Packaging/deb/build` refuses to
/// build when the two differ, and a test compares them.
public enum PrewarmVersion {
    public static let string = "0.1.0"
}
