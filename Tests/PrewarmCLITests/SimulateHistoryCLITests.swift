// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import HistoryStore
import Testing

/// The policies' results of a `simulate --json` run, without the wall times.
private func policies(_ stdout: String) throws -> [String: [String: Double]] {
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    return try figures(obj["policies"])
}

/// A JSON object of policies' results (`policies`, or a pool's), without the wall times.
private func figures(_ policies: Any?) throws -> [String: [String: Double]] {
    let p = try #require(policies as? [String: [String: Any]])
    return p.mapValues { m in
        var out: [String: Double] = [:]
        for (k, v) in m where k != "seconds" { out[k] = (v as? NSNumber)?.doubleValue }
        return out
    }
}

@Test func simulateReadsTheHistoryStoreAsItReadsTheLog() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-simulate-db-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("history.db").path
    #expect(try prewarm(["history", "import", "--trace", fixture, "--db", db]).status == 0)

    // The log's 2,500 jobs through the store give the same runs, figure for figure, as the log itself.
    let viaStore = try prewarm(["simulate", "--db", db, "--nodes", "100", "--json"])
    #expect(viaStore.status == 0, "\(viaStore.stderr)")
    let viaLog = try prewarm(["simulate", "--trace", fixture, "--json"])
    let a = try policies(viaStore.stdout), b = try policies(viaLog.stdout)
    #expect(a.keys.sorted() == ["always_on", "oracle", "prewarm", "reactive"])
    #expect(a == b)
    #expect((a["reactive"]?["boot_wait_s"] ?? 0) > 10)

    // Half the nodes: a different cluster, so different results (the option is used, not ignored).
    let half = try policies(try prewarm(["simulate", "--db", db, "--nodes", "50", "--json"]).stdout)
    #expect(half["reactive"] != a["reactive"])

    // `evaluate --db` scores the same jobs: the baselines, which read no load feature, the same as from the file;
    // prewarm's own accuracy close (the store does not know the cluster's size, so its load features are unknown).
    let evalStore = try prewarm(["evaluate", "--db", db, "--json"])
    #expect(evalStore.status == 0, "\(evalStore.stderr)")
    let evalLog = try prewarm(["evaluate", "--trace", fixture, "--json"])
    func scores(_ out: String) throws -> (records: Int, predictors: [String: [String: Double]]) {
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let p = try #require(obj["predictors"] as? [String: [String: Any]])
        return ((obj["records"] as? NSNumber)?.intValue ?? -1,
                p.mapValues { $0.compactMapValues { ($0 as? NSNumber)?.doubleValue } })
    }
    let s = try scores(evalStore.stdout), l = try scores(evalLog.stdout)
    #expect(s.records == 2500 && l.records == 2500)
    for name in ["user_estimate", "last2", "same_request"] {
        #expect(s.predictors[name] != nil && s.predictors[name] == l.predictors[name], "\(name)")
    }
    let ps = s.predictors["prewarm"]?["accuracy"] ?? 0, pl = l.predictors["prewarm"]?["accuracy"] ?? 0
    #expect(ps > 0.4 && abs(ps - pl) < 0.02)
    let evalPartitionWithoutDB = try prewarm(["evaluate", "--partition", "batch"])
    #expect(evalPartitionWithoutDB.status != 0 && evalPartitionWithoutDB.stderr.contains("give --db"))

    // Refusals, each with a message that says what to do.
    let noNodes = try prewarm(["simulate", "--db", db])
    #expect(noNodes.status != 0 && noNodes.stderr.contains("--db needs --nodes"))
    let both = try prewarm(["simulate", "--db", db, "--trace", fixture, "--nodes", "10"])
    #expect(both.status != 0 && both.stderr.contains("give --trace or --db, not both"))
    let partitionWithoutDB = try prewarm(["simulate", "--trace", fixture, "--partition", "batch"])
    #expect(partitionWithoutDB.status != 0 && partitionWithoutDB.stderr.contains("give --db"))
    let missing = try prewarm(["simulate", "--db", dir.appendingPathComponent("none.db").path, "--nodes", "10"])
    #expect(missing.status != 0 && missing.stderr.contains("none.db"))
}

@Test func simulateSelectsAClusterAndPartitionsOfTheHistoryStore() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-simulate-parts-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("history.db").path
    // Cluster "alpha": 12 jobs in "batch", 6 in "gpu", 3 submitted to "batch,gpu"; cluster "beta": 5 in "batch".
    var rows: [HistoryJob] = []
    func add(_ cluster: String, _ partition: String, _ count: Int, nodes: Int64) {
        for _ in 0 ..< count {
            let id = Int64(rows.count + 1)
            var j = HistoryJob(cluster: cluster, jobID: id, submitTime: 1_700_000_000 + id * 600, source: "test")
            j.startTime = j.submitTime + 30
            j.endTime = j.submitTime + 30 + 900
            j.userID = 1000 + id % 3
            j.partition = partition
            j.requestedCPUs = nodes * 8
            j.requestedNodes = nodes
            j.timeLimit = 3600
            j.state = "COMPLETED"
            rows.append(j)
        }
    }
    add("alpha", "batch", 12, nodes: 2)
    add("alpha", "gpu", 6, nodes: 1)
    add("alpha", "batch,gpu", 3, nodes: 1)
    add("beta", "batch", 5, nodes: 4)
    let store = try HistoryStore(path: db)
    #expect(try store.insert(rows) == rows.count)

    func jobs(_ args: [String]) throws -> Double {
        let r = try prewarm(["simulate", "--db", db, "--nodes", "8", "--json"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return try policies(r.stdout)["reactive"]?["jobs"] ?? -1
    }
    let twoClusters = try prewarm(["simulate", "--db", db, "--nodes", "8"])
    #expect(twoClusters.status != 0 && twoClusters.stderr.contains("2 clusters (alpha, beta)"))
    #expect(try jobs(["--cluster", "alpha"]) == 21)
    #expect(try jobs(["--cluster", "beta"]) == 5)
    #expect(try jobs(["--cluster", "alpha", "--partition", "batch"]) == 15)
    #expect(try jobs(["--cluster", "alpha", "--partition", "gpu"]) == 9)
    #expect(try jobs(["--cluster", "alpha", "--partition", "gpu,batch"]) == 21)
    let none = try prewarm(["simulate", "--db", db, "--nodes", "8", "--cluster", "alpha", "--partition", "debug"])
    #expect(none.status != 0 && none.stderr.contains("holds no job of partition(s) debug"))
    let unknown = try prewarm(["simulate", "--db", db, "--nodes", "8", "--cluster", "gamma"])
    #expect(unknown.status != 0 && unknown.stderr.contains("--cluster gamma"))
    let empty = try prewarm(["simulate", "--db", db, "--nodes", "8", "--cluster", "alpha", "--partition", "batch,"])
    #expect(empty.status != 0 && empty.stderr.contains("comma-separated partition names"))
}

/// A history store in `dir` holding the test log's 2,500 jobs, each in the partition `partition` gives it.
private func partitionedHistory(in dir: URL, _ partition: (HistoryJob) -> String) throws -> String {
    let plain = dir.appendingPathComponent("plain.db").path
    #expect(try prewarm(["history", "import", "--trace", fixture, "--db", plain]).status == 0)
    let db = dir.appendingPathComponent("history.db").path
    let jobs = try HistoryStore(path: plain, readOnly: true).jobs().map { job in
        var j = job
        j.partition = partition(job)
        return j
    }
    #expect(try HistoryStore(path: db).insert(jobs) == 2500)
    return db
}

@Test func simulatePoolsAreTheirPartitionsSimulatedApartAndSummed() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-simulate-pools-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    // The test log's 2,500 jobs in three partitions: by user, and a few in "debug".
    let db = try partitionedHistory(in: dir) { $0.jobID % 50 == 0 ? "debug" : ($0.userID ?? 0) % 2 == 0 ? "batch" : "gpu" }

    func run(_ args: [String]) throws -> [String: Any] {
        let r = try prewarm(["simulate", "--db", db, "--json"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }
    let pooled = try run(["--pool", "batch=60", "--pool", "gpu,debug=40"])
    let batch = try figures(run(["--partition", "batch", "--nodes", "60"])["policies"])
    let rest = try figures(run(["--partition", "gpu,debug", "--nodes", "40"])["policies"])
    let pools = try #require(pooled["pools"] as? [[String: Any]])
    #expect(pools.count == 2)
    #expect(pools.map { $0["partitions"] as? [String] ?? [] } == [["batch"], ["gpu", "debug"]])
    #expect(pools.map { ($0["nodes"] as? NSNumber)?.intValue ?? 0 } == [60, 40])
    #expect((pooled["nodes"] as? NSNumber)?.intValue == 100)
    // Each pool's figures are those of its partitions simulated alone on its nodes.
    #expect(try figures(pools[0]["policies"]) == batch)
    #expect(try figures(pools[1]["policies"]) == rest)
    #expect((batch["reactive"]?["jobs"] ?? 0) > 1000 && (rest["reactive"]?["jobs"] ?? 0) > 1000)
    // The cluster's figures are their sums, and the job-weighted means of their waits.
    let total = try figures(pooled["policies"])
    #expect(total.keys.sorted() == ["always_on", "oracle", "prewarm", "reactive"])
    for (policy, t) in total {
        let a = try #require(batch[policy]), b = try #require(rest[policy])
        for key in ["jobs", "skipped", "idle_node_hours", "busy_node_hours", "booting_node_hours", "energy_kwh",
                    "power_cycles"] {
            let sum = (a[key] ?? .nan) + (b[key] ?? .nan)
            #expect(abs((t[key] ?? .nan) - sum) <= 1e-9 * max(1, sum), "\(policy) \(key)")
        }
        let (na, nb) = (a["jobs"] ?? 0, b["jobs"] ?? 0)
        for key in ["mean_wait_s", "boot_wait_s", "bounded_slowdown"] {
            let mean = ((a[key] ?? .nan) * na + (b[key] ?? .nan) * nb) / (na + nb)
            #expect(abs((t[key] ?? .nan) - mean) <= 1e-9 * max(1, mean), "\(policy) \(key)")
        }
    }
    #expect((total["reactive"]?["boot_wait_s"] ?? 0) > 10)

    // prewarmd's hourly cap is the cluster's: each pool gets its share by nodes, and runs as alone with that cap.
    let capped = try run(["--pool", "batch=60", "--pool", "gpu,debug=40", "--policies", "reactive,prewarm",
                          "--max-actions-per-hour", "50"])
    let cappedPools = try #require(capped["pools"] as? [[String: Any]])
    #expect(cappedPools.map { ($0["max_actions_per_hour"] as? NSNumber)?.intValue ?? -1 } == [30, 20])
    #expect(pools.allSatisfy { $0["max_actions_per_hour"] is NSNull })
    let batchCapped = try figures(run(["--partition", "batch", "--nodes", "60", "--policies", "reactive,prewarm",
                                       "--max-actions-per-hour", "30"])["policies"])
    #expect(try figures(cappedPools[0]["policies"])["prewarm"] == batchCapped["prewarm"])
    #expect(batchCapped["prewarm"] != batch["prewarm"])

    // The human output has a row per pool and policy.
    let human = try prewarm(["simulate", "--db", db, "--pool", "batch=60", "--pool", "gpu,debug=40", "--policies",
                             "reactive,oracle"])
    #expect(human.status == 0, "\(human.stderr)")
    #expect(human.stdout.contains("100 nodes × 1 cores in 2 pools simulated apart"))
    #expect(human.stdout.contains("Each pool on its own"))
    let poolRows = human.stdout.split(separator: "\n").filter { $0.hasPrefix("batch ") || $0.hasPrefix("gpu,debug ") }
    #expect(poolRows.count == 2 * 2)  // reactive and the oracle

    // Partitions in no pool are left out, and said so.
    let some = try prewarm(["simulate", "--db", db, "--pool", "batch=60", "--policies", "reactive", "--json"])
    #expect(some.status == 0 && some.stderr.contains("jobs of partitions in no --pool left out: debug (50), gpu ("))
    // Refusals.
    for (args, message) in [
        (["--pool", "batch=60", "--nodes", "10"], "give it instead of --nodes and --partition"),
        (["--pool", "batch=60", "--partition", "gpu"], "give it instead of --nodes and --partition"),
        (["--pool", "batch"], "is not PARTITION[,PARTITION]=NODES"),
        (["--pool", "batch=0"], "is not PARTITION[,PARTITION]=NODES"),
        (["--pool", "batch=10", "--pool", "gpu,batch=5"], "partition batch is in 'batch=10' and in 'gpu,batch=5'"),
        (["--pool", "batch=10", "--pool", "long=5"], "holds no job of partition long"),
    ] {
        let r = try prewarm(["simulate", "--db", db] + args)
        #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
    let noDB = try prewarm(["simulate", "--trace", fixture, "--pool", "batch=10"])
    #expect(noDB.status != 0 && noDB.stderr.contains("--pool divides the jobs of the history store: give --db"))
}

@Test func simulatePoolsTakeTheirOwnBootTimeSuspendTimeAndPrice() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-simulate-pool-settings-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = try partitionedHistory(in: dir) { ($0.userID ?? 0) % 2 == 0 ? "batch" : "cloud" }
    func run(_ args: [String]) throws -> [String: Any] {
        let r = try prewarm(["simulate", "--db", db, "--json"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }
    // A cloud pool whose nodes boot in 120 s, that Slurm suspends after 1800 s and that costs 2 a node-hour, beside
    // on-premises nodes with the cluster's settings; prewarm runs under Slurm's SuspendTime (3600 s, the pool's own
    // where it has one, as a partition's SuspendTime replaces the cluster's in Slurm).
    let common = ["--price-per-node-hour", "0.5", "--slurm-suspend-time", "3600"]
    let pooled = try run(["--pool", "batch=60", "--pool", "cloud=40:boot=120:suspend=1800:price=2:watts=0/80/250", "--frontier",
                          "--frontier-settings", "1:60:1:0"] + common)
    let pools = try #require(pooled["pools"] as? [[String: Any]])
    func ints(_ key: String) -> [Int] { pools.map { ($0[key] as? NSNumber)?.intValue ?? -1 } }
    #expect(ints("boot_time_s") == [300, 120])
    #expect(ints("suspend_time_s") == [600, 1800])
    #expect(ints("prewarm_slurm_suspend_time_s") == [3600, 1800])
    #expect(pools.map { ($0["price_per_node_hour"] as? NSNumber)?.doubleValue ?? -1 } == [0.5, 2])
    #expect(pools.map { ($0["watts"] as? [String: Double]) ?? [:] }
        == [["off": 5, "idle": 100, "busy": 300], ["off": 0, "idle": 80, "busy": 250]])
    // Each pool is its partition simulated alone with those settings.
    let batch = try figures(run(["--partition", "batch", "--nodes", "60"] + common)["policies"])
    let cloudWatts = ["--off-watts", "0", "--idle-watts", "80", "--busy-watts", "250"]
    let cloud = try figures(run(["--partition", "cloud", "--nodes", "40", "--boot-time", "120", "--suspend-time",
                                 "1800", "--price-per-node-hour", "2", "--slurm-suspend-time", "1800"] + cloudWatts)["policies"])
    let batchFigures = try figures(pools[0]["policies"]), cloudFigures = try figures(pools[1]["policies"])
    for label in ["always_on", "reactive", "oracle", "prewarm"] {
        #expect(batchFigures[label] == batch[label] && batch[label] != nil, "\(label)")
        #expect(cloudFigures[label] == cloud[label] && cloud[label] != nil, "\(label)")
    }
    // The knob's curve runs every pool at each SuspendTime, the cloud pool's own too.
    for s in [60, 300, 600, 1800, 3600] {
        let alone = try figures(run(["--partition", "cloud", "--nodes", "40", "--boot-time", "120", "--suspend-time",
                                     "\(s)", "--price-per-node-hour", "2", "--policies", "reactive"] + cloudWatts)["policies"])
        #expect(cloudFigures["reactive_s\(s)"] == alone["reactive"] && alone["reactive"] != nil, "\(s)")
    }
    #expect(cloudFigures["reactive_s600"] != cloudFigures["reactive"])  // 1800 s, the pool's own
    // Each pool's powered node-hours at its own price, summed for the cluster.
    func cost(_ m: [String: Double]?, _ price: Double) -> Double {
        price * ((m?["idle_node_hours"] ?? .nan) + (m?["busy_node_hours"] ?? .nan))
    }
    let total = try figures(pooled["policies"])
    for label in ["always_on", "reactive", "prewarm", "oracle"] {
        let c = cost(cloudFigures[label], 2), b = cost(batchFigures[label], 0.5)
        #expect(c > 0 && abs((cloudFigures[label]?["cloud_cost"] ?? .nan) - c) <= 1e-9 * c, "\(label)")
        #expect(abs((total[label]?["cloud_cost"] ?? .nan) - (b + c)) <= 1e-9 * (b + c), "\(label)")
        let energy = (batchFigures[label]?["energy_kwh"] ?? .nan) + (cloudFigures[label]?["energy_kwh"] ?? .nan)
        #expect(abs((total[label]?["energy_kwh"] ?? .nan) - energy) <= 1e-9 * energy, "\(label)")
    }
    let human = try prewarm(["simulate", "--db", db, "--policies", "reactive", "--pool", "batch=60", "--pool",
                             "cloud=40:boot=120:suspend=1800:price=2"])
    #expect(human.status == 0, "\(human.stderr)")
    #expect(human.stdout.contains("(pools batch=60; cloud=40:boot=120:suspend=1800:price=2)"))
    #expect(human.stdout.contains("with the settings the pools give of their own"))
    for (pool, message) in [
        ("batch=60:boot=-1", "boot=-1: the boot time must be a whole number of seconds from 0 to 31536000"),
        ("batch=60:suspend=0", "suspend=0: SuspendTime must be a whole number of seconds from 1 to 31536000"),
        ("batch=60:price=free", "price=free: the price must be a number ≥ 0"),
        ("batch=60:boot=60:boot=90", "boot=90: boot given twice"),
        ("batch=60:weight=3", "'weight=3' is not boot=SECONDS, suspend=SECONDS, price=PER_NODE_HOUR or watts=OFF/IDLE/BUSY"),
        ("batch=60:watts=5/100", "watts=5/100: the power draw must be three numbers of watts ≥ 0, OFF/IDLE/BUSY"),
        ("batch=60:watts=5/-1/300", "watts=5/-1/300: the power draw must be three numbers"),
        ("batch=60:", "'' is not boot=SECONDS"),
    ] {
        let r = try prewarm(["simulate", "--db", db, "--pool", pool])
        #expect(r.status != 0 && r.stderr.contains("--pool '\(pool)'") && r.stderr.contains(message), "\(pool): \(r.stderr)")
    }
}
