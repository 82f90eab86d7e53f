// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import HistoryStore
import Testing

/// A process killed (SIGKILL) in the middle of a transaction, with uncommitted pages already spilled to the WAL:
/// reopening keeps every committed row and none of the uncommitted ones. The writer is the built `prewarm`
/// (`history crash-writer`, the store's own insert path) in its own process: forking this multithreaded test
/// process could deadlock the child.
@Test func killedMidTransactionLosesNothingCommittedAndKeepsNoPartialRows() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-crash-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/h.db"
    let p = Process()
    p.executableURL = prewarmExecutable
    p.arguments = ["history", "crash-writer", "--db", path, "--committed", "100", "--uncommitted", "20000"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL,
            "writer ended with \(p.terminationReason) \(p.terminationStatus)")
    // The uncommitted batch reached the WAL file before the kill (so recovery had something to discard).
    let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
    #expect(wal > 1_000_000)

    let store = try HistoryStore(path: path)
    #expect(try store.count() == 100)
    #expect(try store.jobs().map(\.jobID) == Array(1 ... 100))
    #expect(try store.db.scalar("PRAGMA integrity_check").text == "ok")
    var more = try store.jobs()
    for i in more.indices { more[i].jobID += 1000 }
    #expect(try store.insert(more) == 100)  // and the store is usable
}
