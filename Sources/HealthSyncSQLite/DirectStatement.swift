internal import GRDB
internal import GRDBSQLite

/// A cached GRDB statement run through the SQLite C API: values are bound directly (no `StatementArguments`), rows
/// are read column by column (no `Row` or `DatabaseValue`), and a failure is thrown as the `DatabaseError` GRDB would
/// throw, with the extended result code, so that ``SQLiteHealthStore/storageError(_:while:)`` maps it the same way
/// (`SQLITE_FULL` to `.full`, a foreign-key violation to `.conflict`, …).
///
/// Only inside a transaction that GRDB opened: a failure propagates, and GRDB then rolls the transaction back as for
/// any other error. A statement is reset when it is prepared, when ``execute()`` returns and when ``step()`` has
/// read the last row or fails; a caller that stops reading rows early calls ``reset()``.
struct DirectStatement {
    private let statement: Statement
    private let handle: OpaquePointer
    private let connection: OpaquePointer?

    /// Prepares (or takes from the connection's cache) the statement for `sql`.
    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection
        sqlite3_reset(handle)
    }

    /// Binds a text parameter (1-based); SQLite copies the bytes.
    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            if let base = bytes.baseAddress {
                let pointer = UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)
                sqlite3_bind_text(handle, index, pointer, Int32(bytes.count), sqliteTransient)
            } else {
                // An empty string may have no storage, and a null pointer would bind NULL.
                sqlite3_bind_text(handle, index, emptyText, 0, nil)
            }
        }
    }

    /// Binds a text parameter or `NULL`.
    func bind(_ index: Int32, _ text: String?) {
        if let text { bind(index, text) } else { sqlite3_bind_null(handle, index) }
    }

    /// Binds text parameters `first`, `first + 1`, … to `texts` (`nil` binds `NULL`) without SQLite copying them,
    /// runs the statement to completion while they are bound, and unbinds every parameter.
    ///
    /// The hot row writes of a commit bind five to twelve texts a row: bound as `SQLITE_STATIC`, from the strings'
    /// own storage, they cost SQLite no allocation and no copy (`SQLITE_TRANSIENT` does both, under SQLite's memory
    /// mutex). The bytes are only valid inside `withUTF8`, so each text is bound inside the previous one's closure
    /// and the statement runs in the innermost.
    /// - Throws: `DatabaseError` with SQLite's extended result code and message.
    func execute(bindingTexts texts: [String?], from first: Int32) throws {
        defer { sqlite3_clear_bindings(handle) }
        try bindStatic(texts[...], at: first)
    }

    private func bindStatic(_ texts: ArraySlice<String?>, at index: Int32) throws {
        guard let text = texts.first else {
            try execute()
            return
        }
        guard var value = text else {
            sqlite3_bind_null(handle, index)
            try bindStatic(texts.dropFirst(), at: index + 1)
            return
        }
        try value.withUTF8 { bytes in
            if let base = bytes.baseAddress {
                let pointer = UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)
                sqlite3_bind_text(handle, index, pointer, Int32(bytes.count), nil)
            } else {
                sqlite3_bind_text(handle, index, emptyText, 0, nil)
            }
            try bindStatic(texts.dropFirst(), at: index + 1)
        }
    }

    /// Binds a REAL parameter.
    func bind(_ index: Int32, _ value: Double) {
        sqlite3_bind_double(handle, index, value)
    }

    /// Binds an INTEGER parameter.
    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    /// Binds a REAL parameter, or `NULL` for `nil`.
    func bind(_ index: Int32, _ value: Double?) {
        if let value { sqlite3_bind_double(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    /// Binds an INTEGER parameter, or `NULL` for `nil`.
    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    /// Runs the statement to completion and resets it for the next row.
    /// - Throws: `DatabaseError` with SQLite's extended result code and message.
    func execute() throws {
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw failure(code) }
        sqlite3_reset(handle)
    }

    /// Steps to the next result row: `true` when one is there to read with the column accessors, `false` (and the
    /// statement reset, its bindings kept) after the last.
    /// - Throws: `DatabaseError` with SQLite's extended result code and message.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        guard code == SQLITE_DONE else { throw failure(code) }
        sqlite3_reset(handle)
        return false
    }

    /// Resets the statement before its last row was read.
    func reset() {
        sqlite3_reset(handle)
    }

    /// A value to bind where a query's parameters are built at run time (filters, pages).
    enum Value: Sendable, Hashable {
        case text(String)
        case integer(Int64)
    }

    /// Binds `values` to the parameters from `first` (1-based) on.
    func bind(_ values: [Value], from first: Int32 = 1) {
        for (offset, value) in values.enumerated() {
            let index = first + Int32(offset)
            switch value {
            case .text(let text): bind(index, text)
            case .integer(let integer): bind(index, integer)
            }
        }
    }

    /// Every row, decoded by `decode`; the statement is reset afterwards, also when `decode` throws.
    func fetchAll<T>(_ decode: (DirectStatement) throws -> T) throws -> [T] {
        var values: [T] = []
        while try step() {
            do {
                values.append(try decode(self))
            } catch {
                reset()
                throw error
            }
        }
        return values
    }

    /// The first row (at most one by its key), decoded by `decode`, or `nil`; the statement is reset afterwards.
    func fetchOne<T>(_ decode: (DirectStatement) throws -> T) throws -> T? {
        guard try step() else { return nil }
        defer { reset() }
        return try decode(self)
    }

    /// Whether column `index` (0-based) of the current row is `NULL`.
    func isNull(_ index: Int32) -> Bool {
        sqlite3_column_type(handle, index) == SQLITE_NULL
    }

    /// Column `index` of the current row as text; `column` names it in the error.
    /// - Throws: ``HealthSync/StorageError/Code/corrupt`` when it is `NULL`.
    func text(_ index: Int32, column: String) throws -> String {
        guard let text = optionalText(index) else { throw SQLiteHealthStore.corrupt(column, "NULL") }
        return text
    }

    /// Column `index` of the current row as text, or `nil` for `NULL`.
    func optionalText(_ index: Int32) -> String? {
        // `sqlite3_column_text` before `sqlite3_column_bytes`, as SQLite documents.
        guard let bytes = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Whether column `index` of the current row is text with the same bytes as `string` (`false` for `NULL`),
    /// compared in place: no `String` is made of the column.
    func text(_ index: Int32, equals string: String) -> Bool {
        guard let bytes = sqlite3_column_text(handle, index) else { return false }
        let count = Int(sqlite3_column_bytes(handle, index))
        var string = string
        return string.withUTF8 { utf8 in
            utf8.count == count && utf8.elementsEqual(UnsafeBufferPointer(start: bytes, count: count))
        }
    }

    /// Column `index` of the current row as a REAL; `column` names it in the error.
    /// - Throws: ``HealthSync/StorageError/Code/corrupt`` when it is `NULL`.
    func double(_ index: Int32, column: String) throws -> Double {
        guard !isNull(index) else { throw SQLiteHealthStore.corrupt(column, "NULL") }
        return sqlite3_column_double(handle, index)
    }

    /// Column `index` of the current row as an INTEGER; `column` names it in the error.
    /// - Throws: ``HealthSync/StorageError/Code/corrupt`` when it is `NULL`.
    func int64(_ index: Int32, column: String) throws -> Int64 {
        guard !isNull(index) else { throw SQLiteHealthStore.corrupt(column, "NULL") }
        return sqlite3_column_int64(handle, index)
    }

    /// Column `index` of the current row as a REAL, or `nil` for `NULL`.
    func optionalDouble(_ index: Int32) -> Double? {
        isNull(index) ? nil : sqlite3_column_double(handle, index)
    }

    /// Column `index` of the current row as an INTEGER, or `nil` for `NULL`.
    func optionalInt64(_ index: Int32) -> Int64? {
        isNull(index) ? nil : sqlite3_column_int64(handle, index)
    }

    /// The `DatabaseError` of a failed step, the statement reset.
    private func failure(_ code: Int32) -> DatabaseError {
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        sqlite3_reset(handle)
        return DatabaseError(resultCode: ResultCode(rawValue: extended), message: message, sql: statement.sql)
    }
}

/// `SQLITE_TRANSIENT`: SQLite copies a bound value before the call returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A zero-length C string that lives as long as the process, bound as `SQLITE_STATIC` for `""`.
/// `nonisolated(unsafe)`: it is never written after its initialisation.
nonisolated(unsafe) private let emptyText: UnsafeMutablePointer<CChar> = {
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()
