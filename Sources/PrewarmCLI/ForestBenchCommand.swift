// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import Foundation
import PrewarmCore

#if canImport(Glibc)
import Glibc
#endif

/// `prewarm forest-bench`: trains the forest on a feature matrix and prints one JSON line with training
/// time, accuracy and single-row prediction latency, for comparison with scikit-learn
/// (`bench/train-vs-sklearn`).
struct ForestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forest-bench",
        abstract: "Benchmark the random forest on a feature matrix (CSV) and print one JSON line.",
        discussion: """
            The CSV has a header row of names; the last column is runtime_s and the other columns are \
            features, rows in chronological order. The first --train-fraction of the rows train on \
            log(max(runtime_s, 1)); the rest are predicted one row at a time with exp(mean). accuracy is the \
            mean over test rows of min(R, P) / max(R, P) with R = max(runtime_s, 1).
            """,
        shouldDisplay: false
    )

    @Option(help: "Feature matrix CSV (header row, last column runtime_s).")
    var matrix: String

    @Option(help: "Number of trees.")
    var trees = 100

    @Option(help: "Maximum tree depth (0 = unlimited).")
    var maxDepth = 20

    @Option(help: "Features examined per split (0 = columns / 3).")
    var maxFeatures = 0

    @Option(help: "Minimum distinct training rows per leaf.")
    var minSamplesLeaf = 5

    @Option(help: "Fraction of rows (chronologically first) used for training.")
    var trainFraction = 0.7

    @Option(help: "Training threads.")
    var threads = 2

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    @Option(help: "Histogram bins per feature (2...255).")
    var maxBins = 255

    @Option(help: "Passes of the single-row prediction loop; the fastest pass is reported (less noise).")
    var passes = 1

    func run() throws {
        let table = try CSVMatrix(path: matrix)
        guard table.columns >= 2 else { throw ValidationError("\(matrix): need at least one feature and runtime_s") }
        let features = table.columns - 1
        let trainRows = Int(Double(table.rows) * trainFraction)
        let testRows = table.rows - trainRows
        guard trainRows > 0, testRows > 0 else {
            throw ValidationError("\(matrix): \(table.rows) rows do not split into train and test")
        }
        var x = Matrix(rows: trainRows, columns: features)
        var y = Matrix(rows: trainRows, columns: 1)
        for r in 0 ..< trainRows {
            for c in 0 ..< features { x[r, c] = table.values[r * table.columns + c] }
            y[r, 0] = Float(log(max(Double(table.values[r * table.columns + features]), 1)))
        }
        var parameters = ForestParameters()
        parameters.treeCount = trees
        parameters.maxDepth = maxDepth
        parameters.featuresPerSplit = maxFeatures
        parameters.minSamplesLeaf = minSamplesLeaf
        parameters.threads = threads
        parameters.seed = seed
        parameters.maxBins = maxBins

        let trainStart = monotonicSeconds()
        let forest: RandomForest
        do {
            forest = try RandomForest.train(features: x, targets: y, parameters: parameters)
        } catch {
            throw ValidationError("training failed: \(error)")
        }
        let trainSeconds = monotonicSeconds() - trainStart

        // Single-row predictions, timed as a whole loop (clock overhead excluded from each call); with
        // --passes, the fastest pass. predict_cpu_us is the thread's CPU time, less sensitive to other load.
        var predictions = [Float](repeating: 0, count: testRows)
        let testStart = trainRows * table.columns
        var predictSeconds = Double.infinity
        var predictCPUSeconds = Double.infinity
        for _ in 0 ..< max(passes, 1) {
            let wallStart = monotonicSeconds()
            let cpuStart = threadCPUSeconds()
            table.values.withUnsafeBufferPointer { all in
                predictions.withUnsafeMutableBufferPointer { out in
                    for i in 0 ..< testRows {
                        let base = testStart + i * table.columns
                        let row = UnsafeBufferPointer(rebasing: all[base ..< base + features])
                        forest.predict(row, into: UnsafeMutableBufferPointer(rebasing: out[i ..< i + 1]))
                    }
                }
            }
            predictCPUSeconds = min(predictCPUSeconds, threadCPUSeconds() - cpuStart)
            predictSeconds = min(predictSeconds, monotonicSeconds() - wallStart)
        }

        var accuracy = 0.0
        for i in 0 ..< testRows {
            let actual = max(Double(table.values[(trainRows + i) * table.columns + features]), 1)
            let predicted = exp(Double(predictions[i]))
            accuracy += min(actual, predicted) / max(actual, predicted)
        }
        accuracy /= Double(testRows)

        // Quantile latency (p10, p50, p90) on up to 1000 test rows.
        let quantileRows = min(testRows, 1000)
        let quantileStart = monotonicSeconds()
        var sink: Float = 0
        for i in 0 ..< quantileRows {
            let base = testStart + i * table.columns
            let q = forest.quantiles(Array(table.values[base ..< base + features]), levels: [0.1, 0.5, 0.9])
            sink += q[1]
        }
        let quantileSeconds = monotonicSeconds() - quantileStart

        let fields: [(String, String)] = [
            ("train_s", format(trainSeconds, 4)),
            ("accuracy", format(accuracy, 5)),
            ("predict_us", format(predictSeconds / Double(testRows) * 1e6, 3)),
            ("predict_cpu_us", format(predictCPUSeconds / Double(testRows) * 1e6, 3)),
            ("rows", "\(table.rows)"),
            ("features", "\(features)"),
            ("train_rows", "\(trainRows)"),
            ("test_rows", "\(testRows)"),
            ("trees", "\(forest.treeCount)"),
            ("nodes", "\(forest.nodeCount)"),
            ("quantile_us", format(quantileSeconds / Double(max(quantileRows, 1)) * 1e6 + Double(sink) * 0, 3)),
        ]
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }

    private func format(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "null" }
        return String(format: "%.\(digits)f", value)
    }
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

/// CPU seconds used by the calling thread.
func threadCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

/// A numeric CSV with one header row, read into row-major `Float`s (empty or unparsable fields are NaN).
struct CSVMatrix {
    let names: [String]
    let rows: Int
    let columns: Int
    let values: [Float]

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        var bytes = [CChar](repeating: 0, count: data.count + 1)
        data.withUnsafeBytes { raw in
            for (i, byte) in raw.enumerated() { bytes[i] = CChar(bitPattern: byte) }
        }
        let newline = CChar(UInt8(ascii: "\n"))
        let comma = CChar(UInt8(ascii: ","))
        let carriage = CChar(UInt8(ascii: "\r"))
        guard let headerEnd = bytes.firstIndex(of: newline) else { throw ValidationError("\(path): no header row") }
        let header = String(decoding: bytes[0 ..< headerEnd].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let columns = names.count
        guard names.last == "runtime_s" else {
            throw ValidationError("\(path): last column must be runtime_s, found \(names.last ?? "nothing")")
        }
        var values: [Float] = []
        values.reserveCapacity(data.count / 4)
        var rowCount = 0
        var position = headerEnd + 1
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let end = buffer.count - 1
            while position < end {
                if buffer[position] == newline || buffer[position] == carriage {
                    position += 1
                    continue
                }
                for column in 0 ..< columns {
                    var next: UnsafeMutablePointer<CChar>? = nil
                    let value = strtod(base + position, &next)
                    let consumed = next.map { $0 - (base + position) } ?? 0
                    values.append(consumed > 0 ? Float(value) : .nan)
                    position += consumed
                    while position < end, buffer[position] != comma, buffer[position] != newline { position += 1 }
                    if column < columns - 1, position < end, buffer[position] == comma { position += 1 }
                }
                while position < end, buffer[position] != newline { position += 1 }
                rowCount += 1
            }
        }
        self.names = names
        self.columns = columns
        self.rows = rowCount
        self.values = values
    }
}
