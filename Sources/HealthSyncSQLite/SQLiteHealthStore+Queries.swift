import Foundation
internal import GRDB
import HealthSync

/// The reads of ``HealthStore``: each is one read transaction, so it sees one consistent state.
///
/// The reads the processor makes while it processes (``batchContext(of:due:)``, ``checkStates(of:ids:)`` and
/// ``dueSubStreams(before:limit:)``) run on the writer connection, between its commits:
/// SQLite keeps a connection's page cache across its own commits but drops a reader's after every commit of another
/// connection, so on a busy intake the writer's reads hit a warm cache. They are still read transactions of their own, which see what is
/// committed, by this process or any other, so nothing assumes this process is the only writer.
extension SQLiteHealthStore: HealthStoreQueries {
    /// The stream of `key` with its open errors, the sub-stream `key` and, when asked for and the sub-stream is
    /// stored, its check states, in one read transaction.
    /// - Throws: ``HealthSync/StorageError``.
    public func streamContext(
        of key: StreamKey,
        includingCheckStates: Bool
    ) async throws(StorageError) -> StreamContext {
        let requests = [ContextRequest(key: key, includingCheckStates: includingCheckStates)]
        let read = try await batchContext(of: requests, due: nil)
        guard let context = read.contexts.first else {
            throw StorageError(code: .failed, message: "reading stream \(key.urn) returned nothing")
        }
        return context
    }

    /// The due sub-streams asked for and the contexts of several sub-streams
    /// (``streamContext(of:includingCheckStates:)`` of each) in one read transaction: one call for a batch of
    /// envelopes instead of one per envelope and one for the timers. The contexts the context cache holds are
    /// answered from it; the rest (and the due sub-streams, unless the cache rules them out) are read in one
    /// transaction, and without SQL when nothing is left.
    /// - Throws: ``HealthSync/StorageError``.
    public func batchContext(
        of requests: [ContextRequest],
        due: DueTimers?
    ) async throws(StorageError) -> BatchContext {
        try await cachedBatchContext(
            of: requests, dueBefore: due?.before ?? .distantPast, limit: Self.rowLimit(due), besideWrites: false)
    }

    /// ``batchContext(of:due:)`` on one of the pool's reader connections, which does not wait for the writer: it
    /// sees what was committed when its transaction starts (an in-memory store's single connection waits). The
    /// context cache answers what it holds, as for ``batchContext(of:due:)``.
    /// - Throws: ``HealthSync/StorageError``.
    public func batchContextBesideWrites(
        of requests: [ContextRequest],
        due: DueTimers?
    ) async throws(StorageError) -> BatchContext {
        try await cachedBatchContext(
            of: requests, dueBefore: due?.before ?? .distantPast, limit: Self.rowLimit(due), besideWrites: true)
    }

    /// The SQL row limit of the due sub-streams read: 0 for none, the largest 32-bit integer for all.
    static func rowLimit(_ due: DueTimers?) -> Int {
        guard let due else { return 0 }
        return max(0, due.limit ?? Int(Int32.max))
    }

    /// A batch context from the cache, and, in one read transaction on the writer connection (or on a reader,
    /// `besideWrites`), what the cache does not hold: the missing requests, and the due sub-streams unless the cache
    /// rules them out. What is read fills the cache.
    private func cachedBatchContext(
        of requests: [ContextRequest],
        dueBefore time: Date,
        limit: Int,
        besideWrites: Bool
    ) async throws(StorageError) -> BatchContext {
        let cache = self.cache
        let lookup = cache?.lookup(of: requests, dueBefore: time, limit: limit)
        if let complete = lookup?.complete { return complete }
        let token = cache?.token()
        let missing = lookup?.missing(of: requests) ?? requests
        let dueLimit = lookup?.noneDue == true ? 0 : limit
        let body: @Sendable (Database) throws -> BatchContext = { db in
            try Self.batchContext(of: missing, dueBefore: time, limit: dueLimit, in: db, filling: cache, token)
        }
        let read =
            besideWrites
            ? try await read("reading \(missing.count) streams beside the writer", body)
            : try await readOnWriter("reading \(missing.count) streams", body)
        return lookup?.merged(with: read) ?? read
    }

    /// Reads a batch context in `db` and, with a cache, caches it (with the next deadline, when the due
    /// sub-streams were asked for) unless a commit was applied to the cache since `token`.
    static func batchContext(
        of requests: [ContextRequest],
        dueBefore time: Date,
        limit: Int,
        in db: Database,
        filling cache: ContextCache?,
        _ token: UInt64?
    ) throws -> BatchContext {
        let read = try batchContext(of: requests, dueBefore: time, limit: limit, in: db)
        if let cache, let token {
            let nextDeadline: Date?? =
                limit > 0
                ? .some(try Row.fetchOne(db.cachedStatement(sql: nextDeadlineSQL)).map { try $0.date(atIndex: 0) })
                : .none
            cache.fill(token, with: read.contexts, of: requests, nextDeadline: nextDeadline)
        }
        return read
    }

    static func batchContext(
        of requests: [ContextRequest],
        dueBefore time: Date,
        limit: Int,
        in db: Database
    ) throws -> BatchContext {
        BatchContext(
            due: try Self.dueSubStreams(before: time, limit: limit, in: db),
            contexts: try requests.map {
                try Self.streamContext(of: $0.key, includingCheckStates: $0.includingCheckStates, in: db)
            }
        )
    }

    static func streamContext(of key: StreamKey, includingCheckStates: Bool, in db: Database) throws -> StreamContext {
        // The stream and sub-stream rows, read once per envelope, go through the SQLite C API; the errors (most
        // streams have none) through GRDB.
        let streamStatement = try DirectStatement(db, sql: "SELECT \(Self.streamColumns) FROM stream WHERE urn = ?")
        streamStatement.bind(1, key.urn)
        let stream = try streamStatement.fetchOne(Self.streamRecord)
        let errors = try db.cachedStatement(
            sql: "SELECT \(Self.errorColumns) FROM streamError WHERE urn = ? "
                + "ORDER BY subStreamId, streamLevel DESC, code"
        )
        let subStreamStatement = try DirectStatement(
            db, sql: "SELECT \(Self.subStreamColumns) FROM subStream WHERE urn = ? AND subStreamId = ?")
        subStreamStatement.bind(1, key.urn)
        subStreamStatement.bind(2, key.subStreamId)
        let subStream = try subStreamStatement.fetchOne(Self.subStreamRecord)
        return StreamContext(
            stream: stream,
            errors: try Self.fetch(errors, [key.urn], Self.errorRecord),
            subStream: subStream,
            checkStates: includingCheckStates && subStream != nil ? try Self.checkStates(of: key, in: db) : nil
        )
    }

    /// The stream record of `urn`, or `nil`.
    /// - Throws: ``HealthSync/StorageError``.
    public func stream(_ urn: String) async throws(StorageError) -> StreamRecord? {
        try await read("reading stream \(urn)") { db in
            let statement = try DirectStatement(db, sql: "SELECT \(Self.streamColumns) FROM stream WHERE urn = ?")
            statement.bind(1, urn)
            return try statement.fetchOne(Self.streamRecord)
        }
    }

    /// All sub-streams of `urn`, sorted by sub-stream id (main first).
    /// - Throws: ``HealthSync/StorageError``.
    public func subStreams(of urn: String) async throws(StorageError) -> [SubStreamRecord] {
        try await read("reading the sub-streams of \(urn)") { db in
            let statement = try DirectStatement(
                db, sql: "SELECT \(Self.subStreamColumns) FROM subStream WHERE urn = ? ORDER BY subStreamId")
            statement.bind(1, urn)
            return try statement.fetchAll(Self.subStreamRecord)
        }
    }

    /// The sub-stream record of `key`, or `nil`.
    /// - Throws: ``HealthSync/StorageError``.
    public func subStream(_ key: StreamKey) async throws(StorageError) -> SubStreamRecord? {
        try await read("reading sub-stream \(key)") { db in
            let statement = try DirectStatement(
                db, sql: "SELECT \(Self.subStreamColumns) FROM subStream WHERE urn = ? AND subStreamId = ?")
            statement.bind(1, key.urn)
            statement.bind(2, key.subStreamId)
            return try statement.fetchOne(Self.subStreamRecord)
        }
    }

    /// The check states of one sub-stream: those with the given ids, or all of them when `ids` is `nil`.
    /// Unknown and repeated ids are left out; the result is sorted by check-state id.
    /// - Throws: ``HealthSync/StorageError``.
    public func checkStates(of key: StreamKey, ids: [String]?) async throws(StorageError) -> [StoredCheckState] {
        try await readOnWriter("reading check states of \(key)") { db in
            // The rows are read through the SQLite C API (``DirectStatement``), not GRDB's `Row`: this is the
            // processor's largest read.
            guard let ids else { return try Self.checkStates(of: key, in: db) }
            var states: [StoredCheckState] = []
            // One primary-key lookup per id through one prepared statement: no statement per id count, no limit
            // on the number of SQL variables.
            let statement = try DirectStatement(
                db,
                sql: "SELECT \(Self.keyedCheckStateColumns) FROM \(Self.checkStateSource) "
                    + "WHERE urn = ? AND subStreamId = ? AND checkStateId = ?"
            )
            statement.bind(1, key.urn)
            statement.bind(2, key.subStreamId)
            for id in Set(ids).sorted() {
                statement.bind(3, id)
                guard try statement.step() else { continue }
                // At most one row (the primary key): reset for the next id.
                defer { statement.reset() }
                states.append(try Self.storedCheckState(statement, of: key))
            }
            return states
        }
    }

    /// Every check state of sub-stream `key`, sorted by id, read through the SQLite C API (``DirectStatement``),
    /// not GRDB's `Row`: this is the processor's largest read.
    static func checkStates(of key: StreamKey, in db: Database) throws -> [StoredCheckState] {
        let statement = try DirectStatement(
            db,
            sql: "SELECT \(Self.keyedCheckStateColumns) FROM \(Self.checkStateSource) "
                + "WHERE urn = ? AND subStreamId = ? ORDER BY checkStateId"
        )
        statement.bind(1, key.urn)
        statement.bind(2, key.subStreamId)
        return try statement.fetchAll { try Self.storedCheckState($0, of: key) }
    }

    /// Check states of any streams, sorted by URN, sub-stream (main first), then check-state id.
    /// - Parameters:
    ///   - urn: only this stream.
    ///   - subStreamId: only this sub-stream (`""` for main).
    /// - Throws: ``HealthSync/StorageError``.
    public func checkStates(urn: String?, subStreamId: String?) async throws(StorageError) -> [StoredCheckState] {
        try await read("reading check states") { db in
            let (conditions, arguments) = Self.checkStateFilter(urn: urn, subStreamId: subStreamId)
            let statement = try DirectStatement(
                db,
                sql: "SELECT \(Self.checkStateColumns) FROM \(Self.checkStateSource)\(Self.whereClause(conditions)) "
                    + "ORDER BY urn, subStreamId, checkStateId"
            )
            statement.bind(arguments)
            return try statement.fetchAll(Self.storedCheckState)
        }
    }

    /// The open errors of `urn`, stream-level and of every sub-stream, sorted by ``HealthSync/ErrorKey``.
    /// - Throws: ``HealthSync/StorageError``.
    public func errors(of urn: String) async throws(StorageError) -> [ErrorRecord] {
        try await read("reading the errors of \(urn)") { db in
            // ErrorKey order: sub-stream, stream level first, then code.
            let statement = try db.cachedStatement(
                sql: "SELECT \(Self.errorColumns) FROM streamError WHERE urn = ? "
                    + "ORDER BY subStreamId, streamLevel DESC, code"
            )
            return try Self.fetch(statement, [urn], Self.errorRecord)
        }
    }

    /// All streams with their counts, sorted by URN.
    /// - Throws: ``HealthSync/StorageError``.
    public func streams() async throws(StorageError) -> [StreamSummary] {
        try await read("listing streams") { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT urn, consistencyModel,
                        (SELECT count(*) FROM subStream WHERE subStream.urn = stream.urn),
                        (SELECT count(*) FROM checkState WHERE checkState.urn = stream.urn)
                    FROM stream ORDER BY urn
                    """)
            return try Self.fetch(statement, []) { row in
                StreamSummary(
                    urn: try row.decode(String.self, atIndex: 0),
                    consistencyModel: try row.value(atIndex: 1, column: "stream.consistencyModel"),
                    subStreamCount: try row.decode(Int.self, atIndex: 2),
                    checkStateCount: try row.decode(Int.self, atIndex: 3)
                )
            }
        }
    }

    /// The query of ``dueSubStreams(before:limit:)``: a range scan of the `subStream_nextDeadline` index, which
    /// is already in result order.
    static let dueSubStreamsSQL = """
        SELECT urn, subStreamId FROM subStream
        WHERE nextDeadline IS NOT NULL AND nextDeadline < ?
        ORDER BY nextDeadline, urn, subStreamId
        LIMIT ?
        """

    /// Sub-streams whose earliest deadline is strictly before `time`, earliest first (ties by URN, then
    /// sub-stream), at most `limit` (none when `limit` is not positive).
    /// - Throws: ``HealthSync/StorageError``.
    public func dueSubStreams(before time: Date, limit: Int) async throws(StorageError) -> [StreamKey] {
        guard limit > 0 else { return [] }
        return try await readOnWriter("finding due sub-streams") { db in
            try Self.dueSubStreams(before: time, limit: limit, in: db)
        }
    }

    static func dueSubStreams(before time: Date, limit: Int, in db: Database) throws -> [StreamKey] {
        guard limit > 0 else { return [] }
        let statement = try db.cachedStatement(sql: Self.dueSubStreamsSQL)
        return try Self.fetch(statement, [time.storedValue, limit]) { row in
            StreamKey(urn: try row.decode(String.self, atIndex: 0), subStreamId: try row.decode(atIndex: 1))
        }
    }

    /// The query of ``nextDeadline()``: the first entry of the `subStream_nextDeadline` index.
    static let nextDeadlineSQL = """
        SELECT nextDeadline FROM subStream WHERE nextDeadline IS NOT NULL ORDER BY nextDeadline LIMIT 1
        """

    /// The earliest deadline of any sub-stream, or `nil` when no timer is set.
    /// - Throws: ``HealthSync/StorageError``.
    public func nextDeadline() async throws(StorageError) -> Date? {
        try await read("reading the next deadline") { db in
            try Row.fetchOne(db.cachedStatement(sql: Self.nextDeadlineSQL)).map { try $0.date(atIndex: 0) }
        }
    }

    /// The processor clock as last committed, or `nil` for an empty store.
    /// - Throws: ``HealthSync/StorageError``.
    public func clock() async throws(StorageError) -> Date? {
        try await read("reading the clock") { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT clock FROM processorState WHERE id = 1"))
                .map { try $0.date(atIndex: 0) }
        }
    }

    /// Whether a change with this receipt was committed.
    /// - Throws: ``HealthSync/StorageError``.
    public func hasReceipt(_ receipt: String) async throws(StorageError) -> Bool {
        try await read("looking up receipt \(receipt)") { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM receipt WHERE receipt = ?"), arguments: [receipt])
                != nil
        }
    }

    /// Events matching `query`, oldest first (by time, then sequence).
    /// - Throws: ``HealthSync/StorageError``.
    public func events(_ query: EventQuery) async throws(StorageError) -> [HealthEvent] {
        if let limit = query.limit, limit <= 0 { return [] }
        return try await read("reading events") { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let urn = query.urn {
                conditions.append("urn = ?")
                arguments += [urn]
            }
            if let subStreamId = query.subStreamId {
                conditions.append("subStreamId = ?")
                arguments += [subStreamId]
            }
            if let checkStateId = query.checkStateId {
                conditions.append("checkStateId = ?")
                arguments += [checkStateId]
            }
            if let since = query.since {
                conditions.append("at >= ?")
                arguments += [since.storedValue]
            }
            if let until = query.until {
                conditions.append("at <= ?")
                arguments += [until.storedValue]
            }
            var sql = "SELECT \(Self.eventColumns) FROM event\(Self.whereClause(conditions)) ORDER BY at, sequence"
            if let limit = query.limit {
                sql += " LIMIT ?"
                arguments += [limit]
            }
            return try Self.fetch(db.cachedStatement(sql: sql), arguments, Self.healthEvent)
        }
    }

    // MARK: Helpers

    /// ` WHERE a AND b`, or nothing.
    static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
    }

    /// Decodes every row of `statement`.
    static func fetch<T>(
        _ statement: Statement,
        _ arguments: StatementArguments,
        _ decode: (Row) throws -> T
    ) throws -> [T] {
        var values: [T] = []
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try rows.next() {
            values.append(try decode(row))
        }
        return values
    }
}
