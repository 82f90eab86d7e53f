// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import PrewarmCore

/// Deterministic synthetic data sets for the forest tests.
enum ForestTestData {
    static func gaussian(_ rng: inout Xoshiro256StarStar) -> Float {
        let u1 = max(rng.nextUnitDouble(), 1e-300)
        let u2 = rng.nextUnitDouble()
        return Float(sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2))
    }

    static func uniform(_ rng: inout Xoshiro256StarStar, _ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(rng.nextUnitDouble())
    }

    /// y = 3·sin(x0) + x1² + noise, with one irrelevant feature x2.
    static func sinSquare(rows: Int, seed: UInt64, noise: Float = 0.1) -> (features: Matrix, targets: Matrix) {
        var rng = Xoshiro256StarStar(seed: seed)
        var x = Matrix(rows: rows, columns: 3)
        var y = Matrix(rows: rows, columns: 1)
        for r in 0 ..< rows {
            let x0 = uniform(&rng, -3, 3)
            let x1 = uniform(&rng, -2, 2)
            x[r, 0] = x0
            x[r, 1] = x1
            x[r, 2] = uniform(&rng, 0, 1)
            y[r, 0] = 3 * sin(x0) + x1 * x1 + noise * gaussian(&rng)
        }
        return (x, y)
    }

    /// Two outputs: y0 = 3·sin(x0), y1 = x1² − 2·x2.
    static func twoOutputs(rows: Int, seed: UInt64) -> (features: Matrix, targets: Matrix) {
        var rng = Xoshiro256StarStar(seed: seed)
        var x = Matrix(rows: rows, columns: 3)
        var y = Matrix(rows: rows, columns: 2)
        for r in 0 ..< rows {
            let x0 = uniform(&rng, -3, 3)
            let x1 = uniform(&rng, -2, 2)
            let x2 = uniform(&rng, -1, 1)
            x[r, 0] = x0
            x[r, 1] = x1
            x[r, 2] = x2
            y[r, 0] = 3 * sin(x0) + 0.05 * gaussian(&rng)
            y[r, 1] = x1 * x1 - 2 * x2 + 0.05 * gaussian(&rng)
        }
        return (x, y)
    }

    /// Heteroscedastic: y = x0 + (0.2 + x0)·N(0, 1), x0 uniform in [0, 4], plus a noise feature.
    static func heteroscedastic(rows: Int, seed: UInt64) -> (features: Matrix, targets: Matrix) {
        var rng = Xoshiro256StarStar(seed: seed)
        var x = Matrix(rows: rows, columns: 2)
        var y = Matrix(rows: rows, columns: 1)
        for r in 0 ..< rows {
            let x0 = uniform(&rng, 0, 4)
            x[r, 0] = x0
            x[r, 1] = uniform(&rng, 0, 1)
            y[r, 0] = x0 + (0.2 + x0) * gaussian(&rng)
        }
        return (x, y)
    }

    /// Coefficient of determination of `predicted` against `actual`.
    static func r2(_ predicted: [Float], _ actual: [Float]) -> Double {
        let mean = actual.reduce(0.0) { $0 + Double($1) } / Double(actual.count)
        var residual = 0.0
        var total = 0.0
        for (p, a) in zip(predicted, actual) {
            residual += (Double(p) - Double(a)) * (Double(p) - Double(a))
            total += (Double(a) - mean) * (Double(a) - mean)
        }
        return 1 - residual / total
    }

    /// A small, fast forest for the file-format tests.
    static func smallForest(seed: UInt64 = 7) throws -> RandomForest {
        let data = sinSquare(rows: 60, seed: 11)
        var parameters = ForestParameters()
        parameters.treeCount = 3
        parameters.minSamplesLeaf = 3
        parameters.seed = seed
        return try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
    }
}
