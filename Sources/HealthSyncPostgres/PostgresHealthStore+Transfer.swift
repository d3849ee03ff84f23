import Foundation
import HealthSync
import Logging
import PostgresNIO

/// Copies: the receipts a page at a time, and a load that is one transaction on one connection of the pool, written
/// a page at a time while the copy reads its source.
extension PostgresHealthStore: HealthStoreTransfer {
    /// Whether the store holds no stream, sub-stream, event or receipt, and no clock.
    /// - Throws: ``HealthSync/StorageError``.
    public func isEmpty() async throws(StorageError) -> Bool {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("checking whether the store is empty") { connection in
            try await Self.isEmpty(on: connection, sql: sql, logger: logger)
        }
    }

    static func isEmpty(on connection: PostgresConnection, sql: Statements, logger: Logger) async throws -> Bool {
        let tables = [sql.stream, sql.subStream, sql.event, sql.receipt, sql.processorClock]
        let query = "SELECT " + tables.map { "NOT EXISTS (SELECT 1 FROM \($0))" }.joined(separator: " AND ")
        return try await connection.rows(PostgresQuery(unsafeSQL: query), logger: logger).first?.decode(Bool.self)
            ?? false
    }

    /// One page of the receipts, sorted by their bytes (the `"C"` collation of the primary key).
    /// - Throws: ``HealthSync/StorageError``.
    public func receipts(after receipt: String?, limit: Int) async throws(StorageError) -> [StoredReceipt] {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("reading a page of receipts") { connection in
            try await connection.rows(
                """
                SELECT receipt, clock FROM \(unescaped: sql.receipt) WHERE receipt > \(receipt ?? "")
                ORDER BY receipt LIMIT \(Int64(max(1, limit)))
                """, logger: logger
            ).map { row in
                let (receipt, clock) = try row.decode((String, Double?).self)
                return StoredReceipt(receipt: receipt, clock: clock.map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    /// Runs `body` in one transaction on one connection of the pool, whose loader writes each page with a few
    /// statements (`unnest` of one array per column), events with their sequences (`OVERRIDING SYSTEM VALUE`); at the
    /// end the event sequence is set past the greatest copied. The transaction first locks the store's tables against
    /// writes (`EXCLUSIVE`: reads go on), so that no replica writes into a half-loaded store, and commits when `body`
    /// returns, or rolls back when it, or a write, throws.
    ///
    /// Unlike the store's other methods, the load waits for a connection as long as the pool tries to connect (about
    /// a minute), not ``leaseTimeout``: a copy is an operator's command, not a request that must fail fast.
    /// - Throws: ``HealthSync/StorageError`` with ``HealthSync/StorageError/Code/conflict`` when the store is not
    ///   empty; any failure of the writes; what `body` throws.
    public func load<T: Sendable>(_ body: (any HealthStoreLoader) async throws -> T) async throws -> T {
        try await prepareSchema()
        let (sql, logger) = (self.sql, self.logger)
        do {
            return try await client.withConnection { connection in
                // BEGIN … COMMIT as in `transaction(_:on:logger:_:)`, inline: `body` may not leave this task's
                // isolation.
                try await connection.rows("BEGIN", logger: logger)
                let value: T
                do {
                    value = try await Self.load(body, on: connection, sql: sql, logger: logger)
                } catch {
                    do {
                        try await connection.rows("ROLLBACK", logger: logger)
                    } catch {
                        // Broken or in an unknown state: closed rather than handed to the next user (not awaited, as
                        // in `transaction(_:on:logger:_:)`).
                        let closed: EventLoopFuture<Void> = connection.close()
                        closed.whenComplete { _ in }
                    }
                    throw error
                }
                try await connection.rows("COMMIT", logger: logger)
                return value
            }
        } catch let failure as BodyFailure {
            throw failure.error
        } catch let error as StorageError {
            throw error
        } catch {
            throw Self.storageError(error, while: "loading a copy")
        }
    }

    /// What the body of a load threw, carried out of the transaction as it is, not mapped as the driver's errors are.
    private struct BodyFailure: Error {
        let error: any Error
    }

    /// The load's transaction, begun on `connection`: the locks, the check that the store is empty, `body`, and the
    /// event sequence set past the greatest copied.
    private nonisolated(nonsending) static func load<T: Sendable>(
        _ body: (any HealthStoreLoader) async throws -> T,
        on connection: PostgresConnection,
        sql: Statements,
        logger: Logger
    ) async throws -> T {
        let tables = [
            sql.stream, sql.subStream, sql.checkState, sql.streamError, sql.event, sql.processorClock, sql.receipt,
        ]
        try await connection.rows(
            PostgresQuery(unsafeSQL: "LOCK TABLE \(tables.joined(separator: ", ")) IN EXCLUSIVE MODE"), logger: logger)
        guard try await isEmpty(on: connection, sql: sql, logger: logger) else {
            throw StorageError(
                code: .conflict, message: "the store is not empty: a copy loads only into an empty store")
        }
        let value: T
        do {
            value = try await body(Loader(connection: connection, sql: sql, logger: logger))
        } catch let error as StorageError {
            throw error
        } catch {
            throw BodyFailure(error: error)
        }
        // The identity continues after the greatest sequence copied, not at its start.
        try await connection.rows(
            """
            SELECT setval(pg_get_serial_sequence(\(sql.event), 'sequence'), max(sequence))
            FROM \(unescaped: sql.event) HAVING max(sequence) IS NOT NULL
            """, logger: logger)
        return value
    }

    /// The loader of ``load(_:)``: each page in the load's transaction.
    private struct Loader: HealthStoreLoader {
        let connection: PostgresConnection
        let sql: Statements
        let logger: Logger

        func insert(_ contents: StoreContents) async throws {
            do {
                try await write(contents)
            } catch let error as StorageError {
                throw error
            } catch {
                throw PostgresHealthStore.storageError(error, while: "loading a copy")
            }
        }

        private func write(_ contents: StoreContents) async throws {
            func execute(_ query: PostgresQuery) async throws {
                try await connection.rows(query, logger: logger)
            }
            if !contents.streams.isEmpty {
                let streams = contents.streams
                try await execute(
                    """
                    INSERT INTO \(unescaped: sql.stream) (urn, consistencyModel, createdAt, version)
                    SELECT * FROM unnest(\(streams.map(\.urn)), \(streams.map(\.consistencyModel.rawValue)),
                        \(streams.map(\.createdAt.storedValue)), \(streams.map(\.version)))
                    """)
            }
            for subStream in contents.subStreams {
                var binds = PostgresHealthStore.subStreamValues(subStream)
                let count = binds.count
                binds.append(subStream.key.urn)
                binds.append(subStream.key.subStreamId)
                binds.append(subStream.version)
                let columns = PostgresHealthStore.subStreamValueColumns.joined(separator: ", ")
                let values = (1...count + 3).map { "$\($0)" }.joined(separator: ", ")
                try await execute(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO \(sql.subStream) (\(columns), urn, subStreamId, version) "
                            + "VALUES (\(values))",
                        binds: binds))
            }
            if !contents.checkStates.isEmpty {
                try await execute(PostgresHealthStore.saveCheckStates(contents.checkStates, sql: sql))
            }
            for error in contents.errors {
                try await execute(PostgresHealthStore.saveError(error, sql: sql))
            }
            if !contents.events.isEmpty {
                let events = contents.events
                let sequences = try events.map { event in
                    guard let sequence = event.sequence else {
                        throw StorageError(
                            code: .failed,
                            message: "an event of \(event.urn) to copy has no sequence: it was never stored")
                    }
                    return sequence
                }
                try await execute(
                    """
                    INSERT INTO \(unescaped: sql.event) (sequence, at, kind, urn, subStreamId, checkStateId, name,
                        health, topologyElementIdentifier, message, previousHealth, deletionReason, errorCode, detail)
                    OVERRIDING SYSTEM VALUE
                    SELECT * FROM unnest(
                        \(sequences), \(events.map(\.at.storedValue)), \(events.map(\.kind.rawValue)),
                        \(events.map(\.urn)), \(events.map(\.subStreamId)),
                        \(PostgresNullableArray(events.map(\.checkState?.checkStateId))),
                        \(PostgresNullableArray(events.map(\.checkState?.name))),
                        \(PostgresNullableArray(events.map(\.checkState?.health.rawValue))),
                        \(PostgresNullableArray(events.map(\.checkState?.topologyElementIdentifier))),
                        \(PostgresNullableArray(events.map { $0.checkState?.message })),
                        \(PostgresNullableArray(events.map(\.previousHealth?.rawValue))),
                        \(PostgresNullableArray(events.map(\.deletionReason?.rawValue))),
                        \(PostgresNullableArray(events.map(\.errorCode?.rawValue))),
                        \(PostgresNullableArray(events.map(\.detail))))
                    """)
            }
            if !contents.receipts.isEmpty {
                let receipts = contents.receipts
                try await execute(
                    """
                    INSERT INTO \(unescaped: sql.receipt) (receipt, clock)
                    SELECT * FROM unnest(\(receipts.map(\.receipt)),
                        \(PostgresNullableArray(receipts.map { $0.clock?.storedValue })))
                    """)
            }
            if let clock = contents.clock {
                try await execute(
                    """
                    INSERT INTO \(unescaped: sql.processorClock) AS state (backend, clock)
                    VALUES (0, \(clock.storedValue))
                    ON CONFLICT (backend) DO UPDATE SET clock = greatest(state.clock, excluded.clock)
                    """)
            }
        }
    }
}
