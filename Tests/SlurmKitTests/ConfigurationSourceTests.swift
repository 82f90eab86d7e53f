// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import SlurmKit
import Testing

// Where libslurm finds the cluster's configuration, in its order (read_config.c, _establish_config_source):
// SLURM_CONF as set; /etc/slurm/slurm.conf if it exists; a configless slurmd's or sackd's cached copy if it exists;
// SLURM_CONF_SERVER; the DNS SRV record _slurmctld._tcp. Prewarm asks first because libslurm ends the process when
// it finds none.

private struct Sources {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("conf-sources-\(UUID().uuidString)").path
    var defaultFile: String { dir + "/etc/slurm.conf" }
    var cache: String { dir + "/run/slurm.conf" }

    init() throws {
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/run", withIntermediateDirectories: true)
    }

    func create(_ path: String) {
        #expect(FileManager.default.createFile(atPath: path, contents: Data("ClusterName=c\n".utf8)))
    }

    /// The problem under `environment`, and whether the DNS record was asked for.
    func problem(_ environment: [String: String], record: Bool = false) -> (String?, asked: Bool) {
        var asked = false
        let p = LibSlurmClient.configurationProblem(
            environment: environment, defaultFile: defaultFile, configlessCache: cache,
            hasControllerRecord: {
                asked = true
                return record
            })
        return (p, asked)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

@Test func slurmConfIsTakenAsSetEvenWhenOtherSourcesExist() throws {
    let s = try Sources()
    defer { s.remove() }
    s.create(s.defaultFile)
    s.create(s.cache)
    let named = s.dir + "/named.conf"
    #expect(s.problem(["SLURM_CONF": named]).0 == "no readable Slurm configuration at \(named) (set SLURM_CONF)")
    #expect(s.problem(["SLURM_CONF": ""]).0?.hasPrefix("SLURM_CONF is set but empty") == true)
    s.create(named)
    let (p, asked) = s.problem(["SLURM_CONF": named, "SLURM_CONF_SERVER": "ctl:6817"])
    #expect(p == nil)
    #expect(!asked)
}

@Test func theDefaultFileThenTheConfiglessCopyAreUsedWhenTheyExist() throws {
    let s = try Sources()
    defer { s.remove() }
    s.create(s.cache)
    var (p, asked) = s.problem([:])
    #expect(p == nil, "a configless slurmd's or sackd's cached copy is a source")
    #expect(!asked)
    s.create(s.defaultFile)
    (p, asked) = s.problem([:])
    #expect(p == nil)
    #expect(!asked)
}

@Test func withoutFilesAConfigurationServerOrTheDNSRecordIsASource() throws {
    let s = try Sources()
    defer { s.remove() }
    // Nothing at all: the message names every place looked at.
    var (p, asked) = s.problem([:])
    #expect(asked)
    let text = try #require(p)
    for part in [s.defaultFile, s.cache, "SLURM_CONF_SERVER", "_slurmctld._tcp", "set SLURM_CONF"] {
        #expect(text.contains(part), "\(text)")
    }
    // SLURM_CONF_SERVER names the controller to fetch from (not the DNS record then); an empty one is not a source.
    (p, asked) = s.problem(["SLURM_CONF_SERVER": "ctl:6817"])
    #expect(p == nil)
    #expect(!asked)
    #expect(s.problem(["SLURM_CONF_SERVER": ""]).0 != nil)
    // The DNS SRV record, last.
    #expect(s.problem([:], record: true).0 == nil)
}
