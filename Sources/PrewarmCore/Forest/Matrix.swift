// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// A dense row-major matrix of `Float`: one row per sample, one column per feature (or output).
public struct Matrix: Sendable, Equatable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// `rows * columns` values, row after row: element `(r, c)` is `values[r * columns + c]`.
    ///
    /// Mutable for speed; code that changes its length breaks the shape, which
    /// ``RandomForest/train(features:targets:parameters:)`` detects and reports.
    public var values: [Float]

    /// A matrix over existing values.
    /// - Throws: ``ForestError`` if a dimension is negative or `values.count != rows * columns`.
    public init(rows: Int, columns: Int, values: [Float]) throws(ForestError) {
        guard rows >= 0, columns >= 0 else {
            throw ForestError(.invalidShape, "matrix dimensions \(rows)×\(columns) are negative")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count == values.count else {
            throw ForestError(
                .invalidShape, "matrix \(rows)×\(columns) needs \(rows)×\(columns) values, got \(values.count)")
        }
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A matrix filled with `repeating`. Negative dimensions are treated as 0, and a size whose element
    /// count overflows `Int` gives an empty 0×0 matrix (never traps).
    public init(rows: Int, columns: Int, repeating: Float = 0) {
        let r = max(rows, 0)
        let c = max(columns, 0)
        let (count, overflow) = r.multipliedReportingOverflow(by: c)
        if overflow {
            self.rows = 0
            self.columns = 0
            self.values = []
        } else {
            self.rows = r
            self.columns = c
            self.values = [Float](repeating: repeating, count: count)
        }
    }

    /// Whether `values.count == rows * columns` (it can only be false after `values` was resized).
    public var isConsistent: Bool {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        return !overflow && count == values.count
    }

    /// Element at `(row, column)`. Out-of-range reads give NaN and out-of-range writes are ignored.
    /// - Complexity: O(1).
    public subscript(row: Int, column: Int) -> Float {
        get {
            guard row >= 0, row < rows, column >= 0, column < columns else { return .nan }
            let index = row &* columns &+ column
            return index < values.count ? values[index] : .nan
        }
        set {
            guard row >= 0, row < rows, column >= 0, column < columns else { return }
            let index = row &* columns &+ column
            if index < values.count {
                values[index] = newValue
            }
        }
    }

    /// A copy of one row (NaNs if `row` is out of range).
    public func row(_ row: Int) -> [Float] {
        (0 ..< columns).map { self[row, $0] }
    }
}
