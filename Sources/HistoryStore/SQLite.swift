// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// A thin wrapper over the system SQLite's C API (prepare, bind, step, finalize, transactions). C types stay in
// this file. One connection belongs to one thread at a time (opened with SQLITE_OPEN_NOMUTEX).

internal import CSQLite

#if canImport(Glibc)
import Glibc
#endif

/// A failed SQLite call: the database file, what was being done, SQLite's result code and message.
public struct SQLiteError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var operation: String
    public var code: Int32
    public var message: String

    public init(path: String, operation: String, code: Int32, message: String) {
        self.path = path
        self.operation = operation
        self.code = code
        self.message = message
    }

    public var description: String { "\(path): \(operation): \(message) (sqlite error \(code))" }

    /// The file is not a database, or is damaged.
    public var isCorrupt: Bool { code & 0xFF == SQLITE_NOTADB || code & 0xFF == SQLITE_CORRUPT }
}

/// One value of a result column or a bound parameter.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// An open database connection.
public final class SQLiteDatabase {
    public let path: String
    fileprivate let handle: OpaquePointer

    /// Opens (and with `create`, creates) the database at `path`.
    public init(path: String, readOnly: Bool = false, create: Bool = true) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_NOMUTEX
        flags |= readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0))
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(path: path, operation: "open", code: rc, message: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    func error(_ operation: String, _ rc: Int32) -> SQLiteError {
        SQLiteError(path: path, operation: operation, code: rc, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs one or more statements that return no rows of interest.
    public func execute(_ sql: String) throws(SQLiteError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(sql, rc) }
    }

    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error("prepare \(sql)", rc) }
        return SQLiteStatement(database: self, handle: statement, sql: sql)
    }

    /// The first column of the first row of `sql` (`.null` when there is no row).
    public func scalar(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> SQLiteValue {
        let s = try prepare(sql)
        try s.bind(values)
        return try s.step() ? s.value(0) : .null
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` in one `BEGIN IMMEDIATE … COMMIT` transaction; rolls back if it throws.
    public func transaction<T, E: Error>(_ body: () throws(E) -> T) throws(TransactionError<E>) -> T {
        do {
            try execute("BEGIN IMMEDIATE")
        } catch {
            throw .database(error)
        }
        let result: T
        do {
            result = try body()
        } catch {
            try? execute("ROLLBACK")
            throw .body(error)
        }
        do {
            try execute("COMMIT")
        } catch {
            try? execute("ROLLBACK")
            throw .database(error)
        }
        return result
    }
}

/// What ``SQLiteDatabase/transaction(_:)`` can throw: SQLite's own failure, or the body's.
public enum TransactionError<E: Error>: Error, CustomStringConvertible {
    case database(SQLiteError)
    case body(E)
    public var description: String {
        switch self {
        case .database(let e): return "\(e)"
        case .body(let e): return "\(e)"
        }
    }
}

/// A prepared statement; finalized when released.
public final class SQLiteStatement {
    private let database: SQLiteDatabase
    private let handle: OpaquePointer
    public let sql: String

    fileprivate init(database: SQLiteDatabase, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// SQLite copies bound text at once (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Resets the statement and binds `values` to parameters 1, 2, …
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let x): rc = sqlite3_bind_int64(handle, index, x)
            case .real(let x): rc = sqlite3_bind_double(handle, index, x)
            case .text(let s): rc = sqlite3_bind_text(handle, index, s, -1, Self.transient)
            }
            guard rc == SQLITE_OK else { throw database.error("bind parameter \(index) of \(sql)", rc) }
        }
    }

    /// Advances; `true` when a row is available.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            sqlite3_reset(handle)
            throw database.error(sql, rc)
        }
    }

    /// Runs a statement that returns no rows.
    public func run(_ values: [SQLiteValue]) throws(SQLiteError) {
        try bind(values)
        while try step() {}
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func value(_ column: Int) -> SQLiteValue {
        let c = Int32(column)
        switch sqlite3_column_type(handle, c) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, c))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, c))
        case SQLITE_NULL: return .null
        default: return .text(text(column) ?? "")
        }
    }

    public func integer(_ column: Int) -> Int64? {
        sqlite3_column_type(handle, Int32(column)) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, Int32(column))
    }

    public func text(_ column: Int) -> String? {
        guard let p = sqlite3_column_text(handle, Int32(column)) else { return nil }
        let n = Int(sqlite3_column_bytes(handle, Int32(column)))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
}

extension SQLiteValue {
    public var integer: Int64? {
        if case .integer(let x) = self { return x }
        return nil
    }
    public var text: String? {
        if case .text(let s) = self { return s }
        return nil
    }
    public init(_ x: Int64?) { self = x.map { .integer($0) } ?? .null }
    public init(_ s: String?) { self = s.map { .text($0) } ?? .null }
}
