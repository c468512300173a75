import Foundation
import GRDB
import GRDBSQLite

/// A statement prepared, bound and stepped through SQLite's C interface, for the statements the sync
/// path runs once per record (a push's writes on the server, a pulled page's inserts on a device).
/// GRDB's `StatementArguments` box every value in an existential and copy it twice; here a value goes
/// straight from Swift into SQLite. Lives for one transaction (finalized on deinit) and never meets
/// GRDB's statement cache.
public final class RawStatement {
    private let connection: OpaquePointer
    private let handle: OpaquePointer
    private var index: Int32 = 0

    public init(_ db: Database, sql: String) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "closed") }
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v2(connection, sql, -1, &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
        self.connection = connection
        self.handle = handle
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds the next parameter (in order, from the first).
    @discardableResult
    public func bind(_ value: String?) -> Self {
        index += 1
        if let value {
            var value = value
            value.withUTF8 { text in
                _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(text.baseAddress)?.assumingMemoryBound(to: CChar.self),
                                      Int32(text.count), Self.transient)
            }
        } else {
            sqlite3_bind_null(handle, index)
        }
        return self
    }

    @discardableResult
    public func bind(_ value: Int64) -> Self {
        index += 1
        sqlite3_bind_int64(handle, index, value)
        return self
    }

    @discardableResult
    public func bind(_ value: Bool) -> Self { bind(value ? 1 : 0 as Int64) }

    @discardableResult
    public func bind(_ value: some ContiguousBytes) -> Self {
        index += 1
        value.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), Self.transient)
        }
        return self
    }

    /// Runs a statement that returns no rows.
    public func run() throws {
        defer { reset() }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// Runs a query and reads its first row, if any, with `read` (columns from 0).
    public func first<T>(_ read: (Columns) -> T) throws -> T? {
        defer { reset() }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return read(Columns(handle: handle))
        case SQLITE_DONE: return nil
        case let code: throw error(code)
        }
    }

    /// Runs a query and reads every row with `read`.
    public func each(_ read: (Columns) throws -> Void) throws {
        defer { reset() }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: try read(Columns(handle: handle))
            case SQLITE_DONE: return
            case let code: throw error(code)
            }
        }
    }

    public struct Columns {
        let handle: OpaquePointer
        public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
        public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
        public func string(_ column: Int32) -> String? {
            guard let text = sqlite3_column_text(handle, column) else { return nil }
            return String(cString: text)
        }
        /// A blob (or text) column's bytes; nil for NULL.
        public func data(_ column: Int32) -> Data? {
            guard !isNull(column) else { return nil }
            let count = Int(sqlite3_column_bytes(handle, column))
            guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return Data() }
            return Data(bytes: bytes, count: count)
        }
    }

    private func reset() {
        sqlite3_reset(handle)
        index = 0
    }

    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
