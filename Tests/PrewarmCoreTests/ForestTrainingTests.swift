// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

@Suite("Forest training and prediction")
struct ForestTrainingTests {
    @Test("fits y = 3 sin(x0) + x1² on held-out data (R² > 0.9)")
    func fitsKnownFunction() throws {
        let train = ForestTestData.sinSquare(rows: 1500, seed: 1)
        let test = ForestTestData.sinSquare(rows: 300, seed: 2, noise: 0)
        var parameters = ForestParameters()
        parameters.treeCount = 40
        parameters.featuresPerSplit = 3
        let forest = try RandomForest.train(features: train.features, targets: train.targets, parameters: parameters)
        #expect(forest.featureCount == 3)
        #expect(forest.outputCount == 1)
        #expect(forest.trainingRows == 1500)
        #expect(forest.treeCount == 40)
        #expect(forest.nodeCount > 40)
        let predicted = (0 ..< test.features.rows).map { forest.predict(test.features.row($0))[0] }
        let r2 = ForestTestData.r2(predicted, test.targets.values)
        #expect(r2 > 0.9, "held-out R² = \(r2)")
    }

    @Test("a single tree without bootstrap and minSamplesLeaf 1 reproduces distinct training targets")
    func memorises() throws {
        let data = ForestTestData.sinSquare(rows: 200, seed: 3)
        var parameters = ForestParameters()
        parameters.treeCount = 1
        parameters.bootstrap = false
        parameters.minSamplesLeaf = 1
        parameters.featuresPerSplit = 3
        let forest = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        for r in 0 ..< 200 {
            #expect(forest.predict(data.features.row(r))[0] == data.targets[r, 0])
        }
    }

    @Test("multi-output: two different functions are both learnt")
    func multiOutput() throws {
        let train = ForestTestData.twoOutputs(rows: 1500, seed: 4)
        let test = ForestTestData.twoOutputs(rows: 300, seed: 5)
        var parameters = ForestParameters()
        parameters.treeCount = 40
        parameters.featuresPerSplit = 3
        let forest = try RandomForest.train(features: train.features, targets: train.targets, parameters: parameters)
        #expect(forest.outputCount == 2)
        var p0: [Float] = []
        var p1: [Float] = []
        for r in 0 ..< test.features.rows {
            let p = forest.predict(test.features.row(r))
            #expect(p.count == 2)
            p0.append(p[0])
            p1.append(p[1])
        }
        let r20 = ForestTestData.r2(p0, (0 ..< 300).map { test.targets[$0, 0] })
        let r21 = ForestTestData.r2(p1, (0 ..< 300).map { test.targets[$0, 1] })
        #expect(r20 > 0.9, "output 0 R² = \(r20)")
        #expect(r21 > 0.85, "output 1 R² = \(r21)")
    }

    @Test("quantiles are ordered and [p10, p90] covers about 80 % on heteroscedastic data")
    func quantileCalibration() throws {
        let train = ForestTestData.heteroscedastic(rows: 3000, seed: 6)
        let test = ForestTestData.heteroscedastic(rows: 500, seed: 7)
        var parameters = ForestParameters()
        parameters.treeCount = 40
        parameters.minSamplesLeaf = 10
        parameters.featuresPerSplit = 1
        let forest = try RandomForest.train(features: train.features, targets: train.targets, parameters: parameters)
        var covered = 0
        var narrowLow = 0.0
        var wideHigh = 0.0
        for r in 0 ..< test.features.rows {
            let x = test.features.row(r)
            let q = forest.quantiles(x, levels: [0.1, 0.5, 0.9])
            #expect(q.count == 3)
            #expect(q[0] <= q[1] && q[1] <= q[2], "row \(r): \(q)")
            let y = test.targets[r, 0]
            if y >= q[0] && y <= q[2] { covered += 1 }
            if x[0] < 1 { narrowLow += Double(q[2] - q[0]) } else if x[0] > 3 { wideHigh += Double(q[2] - q[0]) }
        }
        let coverage = Double(covered) / Double(test.features.rows)
        #expect(coverage >= 0.7 && coverage <= 0.9, "coverage = \(coverage)")
        // The interval must widen with the noise (heteroscedasticity is captured).
        #expect(wideHigh > 2 * narrowLow)
        // Levels outside [0, 1] are clamped, NaN gives NaN, bad output gives NaN.
        let x = test.features.row(0)
        let extremes = forest.quantiles(x, levels: [-1, 0, 1, 2, .nan])
        #expect(extremes[0] == extremes[1] && extremes[2] == extremes[3] && extremes[4].isNaN)
        #expect(forest.quantiles(x, levels: [0.5], output: 1)[0].isNaN)
        #expect(forest.quantiles(x, levels: []).isEmpty)
    }

    @Test("forEachNeighbour weights sum to 1 and name valid training rows")
    func neighbourWeights() throws {
        let data = ForestTestData.sinSquare(rows: 500, seed: 8)
        var parameters = ForestParameters()
        parameters.treeCount = 25
        let forest = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        for r in stride(from: 0, to: 500, by: 50) {
            var total = 0.0
            var visits = 0
            var mean = 0.0
            data.features.row(r).withUnsafeBufferPointer { x in
                forest.forEachNeighbour(x) { row, weight in
                    #expect(row >= 0 && Int(row) < 500)
                    #expect(weight > 0)
                    total += Double(weight)
                    mean += Double(weight) * Double(forest.trainingTarget(row: Int(row)))
                    #expect(forest.trainingTarget(row: Int(row)) == data.targets[Int(row), 0])
                    visits += 1
                }
            }
            #expect(abs(total - 1) < 1e-5, "weights sum to \(total)")
            #expect(visits >= 25)
            #expect(forest.trainingTarget(row: 500).isNaN && forest.trainingTarget(row: 0, output: 1).isNaN)
            // The weighted mean of neighbour targets is the forest's mean prediction.
            #expect(abs(mean - Double(forest.predict(data.features.row(r))[0])) < 1e-3)
        }
    }

    @Test("same seed gives identical bytes, whatever the thread count; another seed does not")
    func determinism() throws {
        let data = ForestTestData.sinSquare(rows: 400, seed: 9)
        var parameters = ForestParameters()
        parameters.treeCount = 12
        parameters.threads = 1
        let one = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        let again = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        parameters.threads = 2
        let two = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        parameters.threads = 5
        let five = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        parameters.seed = 43
        let other = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        let bytes = one.serialize()
        #expect(bytes == again.serialize())
        #expect(bytes == two.serialize())
        #expect(bytes == five.serialize())
        #expect(bytes != other.serialize())
    }

    @Test("NaN, infinities, -1 and wrong-length inputs never crash")
    func hostileInputs() throws {
        let forest = try ForestTestData.smallForest()
        let inputs: [[Float]] = [
            [], [.nan], [.nan, .nan, .nan], [.infinity, -.infinity, .nan], [-1, -1, -1],
            [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0], [1, 2, 3, 4, 5, 6, 7],
            [.signalingNaN, 0, 0],
        ]
        for x in inputs {
            let p = forest.predict(x)
            #expect(p.count == 1)
            #expect(p[0].isFinite)
            let q = forest.quantiles(x, levels: [0.1, 0.5, 0.9])
            #expect(q.allSatisfy { $0.isFinite })
            var total: Float = 0
            x.withUnsafeBufferPointer { forest.forEachNeighbour($0) { _, w in total += w } }
            #expect(abs(total - 1) < 1e-4)
        }
        // Missing trailing features are NaN.
        #expect(forest.predict([0.5]) == forest.predict([0.5, .nan, .nan]))
        // An output buffer of the wrong size is filled as far as it goes.
        var empty: [Float] = []
        [Float](repeating: 0, count: 3).withUnsafeBufferPointer { x in
            empty.withUnsafeMutableBufferPointer { forest.predict(x, into: $0) }
        }
        var wide = [Float](repeating: -7, count: 3)
        [Float](repeating: 0, count: 3).withUnsafeBufferPointer { x in
            wide.withUnsafeMutableBufferPointer { forest.predict(x, into: $0) }
        }
        #expect(wide[0] == forest.predict([0, 0, 0])[0] && wide[1] == -7)
    }

    @Test("training data with NaN and infinite features trains and predicts consistently")
    func nonFiniteFeatures() throws {
        var data = ForestTestData.sinSquare(rows: 300, seed: 10)
        for r in stride(from: 0, to: 300, by: 7) { data.features[r, 0] = .nan }
        for r in stride(from: 3, to: 300, by: 11) { data.features[r, 1] = .infinity }
        for r in stride(from: 5, to: 300, by: 13) { data.features[r, 2] = -.infinity }
        var parameters = ForestParameters()
        parameters.treeCount = 10
        let forest = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        let reloaded = try RandomForest(deserializing: forest.serialize())
        for r in 0 ..< 300 {
            let p = forest.predict(data.features.row(r))
            #expect(p[0].isFinite)
            #expect(p == reloaded.predict(data.features.row(r)))
        }
    }

    @Test("degenerate data: one row, constant and all-NaN features, huge multiplicities")
    func degenerateData() throws {
        var parameters = ForestParameters()
        parameters.treeCount = 3
        let one = try RandomForest.train(
            features: Matrix(rows: 1, columns: 2, values: [1, 2]), targets: Matrix(rows: 1, columns: 1, values: [5]),
            parameters: parameters)
        #expect(one.predict([1, 2]) == [5])
        #expect(one.quantiles([], levels: [0, 0.5, 1]) == [5, 5, 5])

        var constant = Matrix(rows: 100, columns: 2, repeating: 3)
        for r in 0 ..< 100 { constant[r, 1] = .nan }
        var y = Matrix(rows: 100, columns: 1)
        for r in 0 ..< 100 { y[r, 0] = Float(r) }
        let flat = try RandomForest.train(features: constant, targets: y, parameters: parameters)
        #expect(flat.nodeCount == 3)  // nothing to split on: one leaf per tree
        #expect(abs(flat.predict([3, .nan])[0] - 49.5) < 10)

        // Each of 2 rows drawn ~500 times: multiplicities above 255 are stored in several entries.
        parameters.sampleFraction = 1000
        parameters.minSamplesLeaf = 1
        let heavy = try RandomForest.train(
            features: Matrix(rows: 2, columns: 1, values: [0, 1]), targets: Matrix(rows: 2, columns: 1, values: [0, 1]),
            parameters: parameters)
        var total: Float = 0
        var visits = 0
        [Float(0)].withUnsafeBufferPointer { x in
            heavy.forEachNeighbour(x) { row, weight in
                #expect(row == 0)
                total += weight
                visits += 1
            }
        }
        #expect(abs(total - 1) < 1e-5 && visits > 3)
        #expect(try RandomForest(deserializing: heavy.serialize()).predict([1]) == heavy.predict([1]))
    }

    @Test("training refuses bad shapes, empty data, non-finite targets and bad parameters")
    func trainingErrors() throws {
        let data = ForestTestData.sinSquare(rows: 50, seed: 12)
        let parameters = ForestParameters()
        func code(_ body: () throws(ForestError) -> RandomForest) -> ForestError.Code? {
            do {
                _ = try body()
                return nil
            } catch {
                return error.code
            }
        }
        let fewer = Matrix(rows: 49, columns: 1)
        #expect(code { () throws(ForestError) in
            try RandomForest.train(features: data.features, targets: fewer, parameters: parameters)
        } == .invalidShape)
        #expect(code { () throws(ForestError) in
            try RandomForest.train(
                features: Matrix(rows: 0, columns: 3), targets: Matrix(rows: 0, columns: 1), parameters: parameters)
        } == .emptyData)
        #expect(code { () throws(ForestError) in
            try RandomForest.train(
                features: Matrix(rows: 50, columns: 0), targets: data.targets, parameters: parameters)
        } == .emptyData)
        #expect(code { () throws(ForestError) in
            try RandomForest.train(
                features: data.features, targets: Matrix(rows: 50, columns: 0), parameters: parameters)
        } == .emptyData)
        var nan = data.targets
        nan[17, 0] = .nan
        #expect(code { () throws(ForestError) in
            try RandomForest.train(features: data.features, targets: nan, parameters: parameters)
        } == .nonFiniteTarget)
        var infinite = data.targets
        infinite[3, 0] = .infinity
        #expect(code { () throws(ForestError) in
            try RandomForest.train(features: data.features, targets: infinite, parameters: parameters)
        } == .nonFiniteTarget)
        var resized = data.features
        resized.values.removeLast()
        #expect(code { () throws(ForestError) in
            try RandomForest.train(features: resized, targets: data.targets, parameters: parameters)
        } == .invalidShape)
        let mutations: [(inout ForestParameters) -> Void] = [
            { $0.treeCount = 0 }, { $0.maxDepth = -1 }, { $0.minSamplesLeaf = 0 }, { $0.featuresPerSplit = -2 },
            { $0.sampleFraction = 0 }, { $0.sampleFraction = .nan }, { $0.maxBins = 1 }, { $0.maxBins = 256 },
        ]
        for mutate in mutations {
            var bad = ForestParameters()
            mutate(&bad)
            #expect(code { () throws(ForestError) in
                try RandomForest.train(features: data.features, targets: data.targets, parameters: bad)
            } == .invalidParameter)
        }
        #expect(throws: ForestError.self) { try Matrix(rows: 2, columns: 3, values: [1, 2, 3]) }
        #expect(throws: ForestError.self) { try Matrix(rows: -1, columns: 3, values: []) }
    }

    @Test("maxDepth, minSamplesLeaf, subsampling without replacement and few bins are honoured")
    func parameterEffects() throws {
        let data = ForestTestData.sinSquare(rows: 400, seed: 13)
        var parameters = ForestParameters()
        parameters.treeCount = 4
        parameters.maxDepth = 1
        let stumps = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        #expect(stumps.nodeCount == 4 * 3)
        parameters.maxDepth = 0
        parameters.minSamplesLeaf = 200
        let wide = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        #expect(wide.nodeCount <= 4 * 3)
        parameters.minSamplesLeaf = 5
        parameters.bootstrap = false
        parameters.sampleFraction = 0.5
        parameters.maxBins = 4
        let coarse = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        var visited = Set<Int32>()
        for r in 0 ..< 400 {
            data.features.row(r).withUnsafeBufferPointer { x in
                coarse.forEachNeighbour(x) { row, _ in visited.insert(row) }
            }
        }
        #expect(visited.count <= 400)
        #expect(coarse.predict(data.features.row(0))[0].isFinite)
    }
}
