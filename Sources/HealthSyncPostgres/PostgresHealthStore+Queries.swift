import Foundation
import HealthSync
import Logging
import PostgresNIO

/// The reads of ``HealthSync/HealthStore`` and ``HealthSync/HealthStoreQueries``: each is one statement, or one read
/// transaction (`REPEATABLE READ, READ ONLY`) when it takes several, so that it sees one consistent state. Listings
/// are sorted in the `"C"` collation of the id columns: by UTF-8 bytes.
extension PostgresHealthStore: HealthStoreQueries {
    /// The due sub-streams asked for and the context of each request, in one read transaction: at most five statements
    /// whatever the number of requests (the due sub-streams, then the streams, their errors, the sub-streams and the
    /// check states asked for, each for every request at once).
    /// - Throws: ``HealthSync/StorageError``.
    public func batchContext(
        of requests: [ContextRequest],
        due: DueTimers?
    ) async throws(StorageError) -> BatchContext {
        let limit = due.map { max(0, $0.limit ?? Int(Int32.max)) } ?? 0
        if requests.isEmpty, limit == 0 { return BatchContext(due: [], contexts: []) }
        let (sql, logger) = (self.sql, self.logger)
        let before = due?.before ?? .distantPast
        return try await read("reading \(requests.count) streams") { connection in
            let dueKeys =
                limit > 0
                ? try await Self.dueSubStreams(before: before, limit: limit, on: connection, sql: sql, logger: logger)
                : []
            guard !requests.isEmpty else { return BatchContext(due: dueKeys, contexts: []) }
            var urns: [String] = []
            var seenURNs: Set<String> = []
            var keys: [StreamKey] = []
            var seenKeys: Set<StreamKey> = []
            for request in requests {
                if seenURNs.insert(request.key.urn).inserted { urns.append(request.key.urn) }
                if seenKeys.insert(request.key).inserted { keys.append(request.key) }
            }
            var streams: [String: StreamRecord] = [:]
            for row in try await connection.rows(
                "SELECT \(unescaped: Self.streamColumns) FROM \(unescaped: sql.stream) WHERE urn = ANY(\(urns))",
                logger: logger)
            {
                let stream = try Self.streamRecord(row)
                streams[stream.urn] = stream
            }
            var errors: [String: [ErrorRecord]] = [:]
            for row in try await connection.rows(
                """
                SELECT \(unescaped: Self.errorColumns) FROM \(unescaped: sql.streamError) WHERE urn = ANY(\(urns))
                ORDER BY urn, subStreamId, streamLevel DESC, code
                """, logger: logger)
            {
                let error = try Self.errorRecord(row)
                errors[error.key.urn, default: []].append(error)
            }
            var subStreams: [StreamKey: SubStreamRecord] = [:]
            for row in try await connection.rows(
                """
                SELECT \(unescaped: Self.subStreamColumns) FROM \(unescaped: sql.subStream)
                WHERE (urn, subStreamId) IN (SELECT * FROM unnest(\(keys.map(\.urn)), \(keys.map(\.subStreamId))))
                """, logger: logger)
            {
                let subStream = try Self.subStreamRecord(row)
                subStreams[subStream.key] = subStream
            }
            let wanted = Set(requests.filter { $0.includingCheckStates }.map(\.key)).filter { subStreams[$0] != nil }
                .sorted()
            var checkStates: [StreamKey: [StoredCheckState]] = [:]
            if !wanted.isEmpty {
                for row in try await connection.rows(
                    """
                    SELECT \(unescaped: Self.checkStateColumns) FROM \(unescaped: sql.checkState)
                    WHERE (urn, subStreamId) IN (
                        SELECT * FROM unnest(\(wanted.map(\.urn)), \(wanted.map(\.subStreamId))))
                    ORDER BY urn, subStreamId, checkStateId
                    """, logger: logger)
                {
                    let state = try Self.storedCheckState(row)
                    checkStates[state.key, default: []].append(state)
                }
            }
            let contexts = requests.map { request in
                let subStream = subStreams[request.key]
                return StreamContext(
                    stream: streams[request.key.urn],
                    errors: errors[request.key.urn] ?? [],
                    subStream: subStream,
                    checkStates: request.includingCheckStates && subStream != nil
                        ? checkStates[request.key] ?? [] : nil
                )
            }
            return BatchContext(due: dueKeys, contexts: contexts)
        }
    }

    /// Sub-streams whose earliest deadline is strictly before `time`, earliest first (ties by URN, then sub-stream),
    /// at most `limit`: a range of the `subStream_nextDeadline` index.
    static func dueSubStreams(
        before time: Date,
        limit: Int,
        on connection: PostgresConnection,
        sql: Statements,
        logger: Logger
    ) async throws -> [StreamKey] {
        try await connection.rows(
            """
            SELECT urn, subStreamId FROM \(unescaped: sql.subStream)
            WHERE nextDeadline IS NOT NULL AND nextDeadline < \(time.storedValue)
            ORDER BY nextDeadline, urn, subStreamId
            LIMIT \(Int64(limit))
            """, logger: logger
        ).map { row in
            let (urn, subStreamId) = try row.decode((String, String).self)
            return StreamKey(urn: urn, subStreamId: subStreamId)
        }
    }

    /// The check states of one sub-stream: those with the given ids, or all of them when `ids` is `nil`. Unknown and
    /// repeated ids are left out; the result is sorted by check-state id.
    /// - Throws: ``HealthSync/StorageError``.
    public func checkStates(of key: StreamKey, ids: [String]?) async throws(StorageError) -> [StoredCheckState] {
        if let ids, ids.isEmpty { return [] }
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("reading check states of \(key)") { connection in
            let query: PostgresQuery
            if let ids {
                query = """
                    SELECT \(unescaped: Self.checkStateColumns) FROM \(unescaped: sql.checkState)
                    WHERE urn = \(key.urn) AND subStreamId = \(key.subStreamId)
                    AND checkStateId = ANY(\(Array(Set(ids))))
                    ORDER BY checkStateId
                    """
            } else {
                query = """
                    SELECT \(unescaped: Self.checkStateColumns) FROM \(unescaped: sql.checkState)
                    WHERE urn = \(key.urn) AND subStreamId = \(key.subStreamId)
                    ORDER BY checkStateId
                    """
            }
            return try await connection.rows(query, logger: logger).map(Self.storedCheckState)
        }
    }

    /// All sub-streams of `urn`, sorted by sub-stream id (main first).
    /// - Throws: ``HealthSync/StorageError``.
    public func subStreams(of urn: String) async throws(StorageError) -> [SubStreamRecord] {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("reading the sub-streams of \(urn)") { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: Self.subStreamColumns) FROM \(unescaped: sql.subStream) WHERE urn = \(urn)
                ORDER BY subStreamId
                """, logger: logger
            ).map(Self.subStreamRecord)
        }
    }

    /// The earliest deadline of any sub-stream, or `nil` when no timer is set: the first entry of the
    /// `subStream_nextDeadline` index.
    /// - Throws: ``HealthSync/StorageError``.
    public func nextDeadline() async throws(StorageError) -> Date? {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("reading the next deadline") { connection in
            try await connection.rows(
                """
                SELECT nextDeadline FROM \(unescaped: sql.subStream) WHERE nextDeadline IS NOT NULL
                ORDER BY nextDeadline LIMIT 1
                """, logger: logger
            ).first.map { Date(timeIntervalSince1970: try $0.decode(Double.self)) }
        }
    }

    /// The processor clock as last committed, or `nil` for an empty store: the greatest of the connections' clock
    /// rows.
    /// - Throws: ``HealthSync/StorageError``.
    public func clock() async throws(StorageError) -> Date? {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("reading the clock") { connection in
            try await connection.rows(
                "SELECT max(clock) FROM \(unescaped: sql.processorClock)", logger: logger
            ).first.flatMap { try $0.decode(Double?.self) }.map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Whether a change with this receipt was committed.
    /// - Throws: ``HealthSync/StorageError``.
    public func hasReceipt(_ receipt: String) async throws(StorageError) -> Bool {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("looking up receipt \(receipt)") { connection in
            let rows = try await connection.rows(
                "SELECT 1 FROM \(unescaped: sql.receipt) WHERE receipt = \(receipt)", logger: logger)
            return !rows.isEmpty
        }
    }

    /// All streams with their counts, sorted by URN.
    /// - Throws: ``HealthSync/StorageError``.
    public func streams() async throws(StorageError) -> [StreamSummary] {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("listing streams") { connection in
            try await connection.rows(
                """
                SELECT urn, consistencyModel,
                    (SELECT count(*) FROM \(unescaped: sql.subStream) s WHERE s.urn = stream.urn),
                    (SELECT count(*) FROM \(unescaped: sql.checkState) c WHERE c.urn = stream.urn)
                FROM \(unescaped: sql.stream) stream ORDER BY urn
                """, logger: logger
            ).map { row in
                var columns = Columns(row, table: "stream")
                return StreamSummary(
                    urn: try columns.next(),
                    consistencyModel: try columns.value(),
                    subStreamCount: Int(try columns.next(Int64.self)),
                    checkStateCount: Int(try columns.next(Int64.self))
                )
            }
        }
    }

    /// Check states of any streams, sorted by URN, sub-stream (main first), then check-state id.
    /// - Parameters:
    ///   - urn: only this stream.
    ///   - subStreamId: only this sub-stream (`""` for main).
    /// - Throws: ``HealthSync/StorageError``.
    public func checkStates(urn: String?, subStreamId: String?) async throws(StorageError) -> [StoredCheckState] {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("reading check states") { connection in
            var query = Self.checkStateQuery(urn: urn, subStreamId: subStreamId, sql: sql)
            query.sql += " ORDER BY urn, subStreamId, checkStateId"
            return try await connection.rows(query, logger: logger).map(Self.storedCheckState)
        }
    }

    /// One page of check states, read from the primary key's index: the page, never the whole table, is in memory.
    /// Sorted as ``checkStates(urn:subStreamId:)``.
    /// - Throws: ``HealthSync/StorageError``.
    public func checkStates(
        urn: String?,
        subStreamId: String?,
        healths: Set<Health>?,
        after position: CheckStatePosition?,
        limit: Int
    ) async throws(StorageError) -> [StoredCheckState] {
        if let healths, healths.isEmpty { return [] }
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("reading a page of check states") { connection in
            var query = Self.checkStateQuery(urn: urn, subStreamId: subStreamId, sql: sql)
            if let healths {
                query.sql += " AND health = ANY($\(query.binds.count + 1))"
                query.binds.append(healths.map(\.rawValue).sorted())
            }
            if let position {
                let first = query.binds.count + 1
                query.sql += " AND (urn, subStreamId, checkStateId) > ($\(first), $\(first + 1), $\(first + 2))"
                query.binds.append(position.key.urn)
                query.binds.append(position.key.subStreamId)
                query.binds.append(position.checkStateId)
            }
            query.sql += " ORDER BY urn, subStreamId, checkStateId LIMIT $\(query.binds.count + 1)"
            query.binds.append(Int64(max(1, limit)))
            return try await connection.rows(query, logger: logger).map(Self.storedCheckState)
        }
    }

    /// Events matching `query`, oldest first (by time, then sequence).
    /// - Throws: ``HealthSync/StorageError``.
    public func events(_ query: EventQuery) async throws(StorageError) -> [HealthEvent] {
        if let limit = query.limit, limit <= 0 { return [] }
        return try await events(query, after: nil, limit: query.limit, what: "reading events")
    }

    /// One page of events, read from the `event_at` index (time, then sequence) from the position on: the page, never
    /// the events of the position's instant before it, is read, however many events share one instant.
    ///
    /// Oldest first, as ``events(_:)``; the query's own `limit` is ignored.
    /// - Throws: ``HealthSync/StorageError``.
    public func events(
        _ query: EventQuery,
        after position: EventPosition?,
        limit: Int
    ) async throws(StorageError) -> [HealthEvent] {
        try await events(query, after: position, limit: max(1, limit), what: "reading a page of events")
    }

    /// The events matching `query` after `position`, at most `limit` (all when `nil`), oldest first.
    private func events(
        _ query: EventQuery,
        after position: EventPosition?,
        limit: Int?,
        what: String
    ) async throws(StorageError) -> [HealthEvent] {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection(what) { connection in
            var statement = PostgresQuery(
                unsafeSQL: "SELECT \(Self.eventColumns) FROM \(sql.event) WHERE true")
            func condition(_ text: String, _ value: some PostgresDynamicTypeEncodable) {
                statement.sql += " AND \(text) $\(statement.binds.count + 1)"
                statement.binds.append(value)
            }
            if let urn = query.urn { condition("urn =", urn) }
            if let subStreamId = query.subStreamId { condition("subStreamId =", subStreamId) }
            if let checkStateId = query.checkStateId { condition("checkStateId =", checkStateId) }
            if let since = query.since { condition("at >=", since.storedValue) }
            if let until = query.until { condition("at <=", until.storedValue) }
            if let position {
                let first = statement.binds.count + 1
                statement.sql += " AND (at, sequence) > ($\(first), $\(first + 1))"
                statement.binds.append(position.at.storedValue)
                statement.binds.append(position.sequence)
            }
            statement.sql += " ORDER BY at, sequence"
            if let limit {
                statement.sql += " LIMIT $\(statement.binds.count + 1)"
                statement.binds.append(Int64(limit))
            }
            return try await connection.rows(statement, logger: logger).map(Self.healthEvent)
        }
    }

    /// The check states of a stream and sub-stream (each `nil` for any), without an order: the start of the listings.
    static func checkStateQuery(urn: String?, subStreamId: String?, sql: Statements) -> PostgresQuery {
        var query = PostgresQuery(unsafeSQL: "SELECT \(checkStateColumns) FROM \(sql.checkState) WHERE true")
        if let urn {
            query.sql += " AND urn = $\(query.binds.count + 1)"
            query.binds.append(urn)
        }
        if let subStreamId {
            query.sql += " AND subStreamId = $\(query.binds.count + 1)"
            query.binds.append(subStreamId)
        }
        return query
    }
}
