import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Logging
import PostgresNIO
import Testing

@testable import HealthSyncPostgres

/// ``PostgresHealthStore`` on the test server (`HEALTHSYNC_TEST_POSTGRES_URL`): the conformance suite on a store that
/// runs its own client as a service, its schema migrations and schemas, and what several writers on one database do.
/// Every other test over ``StoreKind/allCases`` (the conformance suite check by check among them) and the differential
/// tests over ``StoreKind/postgresKinds`` run on it too.
@Suite(.enabled(if: PostgresTestDatabase.isEnabled, PostgresTestDatabase.skipReason))
struct PostgresHealthStoreTests {
    static let urn = "urn:health:test:postgres"

    /// A store on the shared client, in a schema of its own.
    static func makeStore() throws -> PostgresHealthStore {
        try PostgresTestDatabase.makeStore()
    }

    /// Another store over the schema of `store`: another writer on the same tables, as another process would be.
    static func sibling(of store: PostgresHealthStore) throws -> PostgresHealthStore {
        try PostgresHealthStore(
            client: store.client, schema: store.schema, leaseTimeout: .seconds(600), logger: PostgresTestDatabase.logger
        )
    }

    static func stream(version: Int64 = 0) -> StreamRecord {
        StreamRecord(
            urn: urn, consistencyModel: .repeatSnapshots, createdAt: Date(timeIntervalSince1970: 1_000),
            version: version)
    }

    static func change(saving stream: StreamRecord, receipt: String? = nil) -> StoreChange {
        var change = StoreChange()
        change.savedStreams = [stream]
        change.clock = Date(timeIntervalSince1970: 2_000)
        change.receipt = receipt
        return change
    }

    @Test func passesTheWholeConformanceSuiteOnAClientItRunsAsAService() async throws {
        let store = try PostgresHealthStore(
            configuration: PostgresTestDatabase.configuration(), schema: PostgresTestDatabase.newSchemaName(),
            logger: PostgresTestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            try await HealthStoreConformance {
                try PostgresHealthStore(
                    client: store.client, schema: PostgresTestDatabase.newSchemaName(), leaseTimeout: .seconds(600),
                    logger: PostgresTestDatabase.logger)
            }.run()
            group.cancelAll()
        }
    }

    @Test func migratesASchemaOnceAndRecordsItsVersion() async throws {
        let store = try Self.makeStore()
        #expect(try await store.appliedMigrations() == PostgresHealthStore.migrations)
        #expect(PostgresHealthStore.schemaVersion == "v3")
        #expect(PostgresHealthStore.migrations == ["v1", "v2", "v3"])
        // A second store on the schema finds it migrated, and so does a store prepared at the same time as others.
        let siblings = try (0..<4).map { _ in try Self.sibling(of: store) }
        try await withThrowingTaskGroup(of: [String].self) { group in
            for sibling in siblings { group.addTask { try await sibling.appliedMigrations() } }
            for try await applied in group { #expect(applied == PostgresHealthStore.migrations) }
        }
    }

    @Test func storesPreparedTogetherOnANewSchemaMigrateItOnce() async throws {
        let first = try Self.makeStore()
        let stores = [first] + (try (0..<5).map { _ in try Self.sibling(of: first) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.prepareSchema() } }
            try await group.waitForAll()
        }
        #expect(try await first.appliedMigrations() == PostgresHealthStore.migrations)
    }

    @Test func refusesASchemaWrittenByANewerVersion() async throws {
        let store = try Self.makeStore()
        try await store.prepareSchema()
        _ = try await store.client.query(
            PostgresQuery(unsafeSQL: "INSERT INTO \"\(store.schema)\".schemaVersion (version) VALUES ('v999')"),
            logger: PostgresTestDatabase.logger
        ).collect()
        let error = await #expect(throws: StorageError.self) { try await Self.sibling(of: store).clock() }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("v999") == true, "\(String(describing: error))")
    }

    @Test func storesInOtherSchemasDoNotSeeEachOther() async throws {
        let (one, other) = (try Self.makeStore(), try Self.makeStore())
        try await one.commit(Self.change(saving: Self.stream(), receipt: "r1"))
        #expect(try await one.streams().map(\.urn) == [Self.urn])
        #expect(try await other.streams().isEmpty)
        #expect(try await other.hasReceipt("r1") == false)
        #expect(try await other.clock() == nil)
        // The same stream is new in the other schema.
        try await other.commit(Self.change(saving: Self.stream(), receipt: "r1"))
        #expect(try await other.stream(Self.urn)?.version == 1)
    }

    @Test func aCommitAtAVersionAnotherWriterMovedOnConflictsAndWritesNothing() async throws {
        let store = try Self.makeStore()
        let other = try Self.sibling(of: store)
        try await store.commit(Self.change(saving: Self.stream()))
        try await other.commit(Self.change(saving: Self.stream(version: 1)))
        var stale = Self.change(saving: Self.stream(version: 1), receipt: "stale")
        stale.events = [
            HealthEvent(at: Date(timeIntervalSince1970: 2_000), kind: .streamCreated, urn: Self.urn, subStreamId: "")
        ]
        let error = await #expect(throws: StorageError.self) { try await store.commit(stale) }
        #expect(error?.code == .conflict)
        #expect(try await store.stream(Self.urn)?.version == 2)
        #expect(try await store.hasReceipt("stale") == false)
        #expect(try await store.events(EventQuery()).isEmpty)
    }

    /// Writers racing with the same version on one stream: exactly one commits, the others conflict (they wait for
    /// the first one's row lock, then find the version moved on), and no write is lost or doubled.
    @Test func racingCommitsOfOneVersionCommitOnceAndTheOthersConflict() async throws {
        let store = try Self.makeStore()
        try await store.commit(Self.change(saving: Self.stream()))
        let writers = try (0..<8).map { _ in try Self.sibling(of: store) }
        let outcomes = try await withThrowingTaskGroup(of: StorageError.Code?.self) { group in
            for (index, writer) in writers.enumerated() {
                group.addTask {
                    var change = Self.change(saving: Self.stream(version: 1), receipt: "writer-\(index)")
                    change.events = [
                        HealthEvent(
                            at: Date(timeIntervalSince1970: 2_000), kind: .streamCreated, urn: Self.urn,
                            subStreamId: "", detail: "writer \(index)")
                    ]
                    do {
                        try await writer.commit(change)
                        return nil
                    } catch let error as StorageError {
                        return error.code
                    }
                }
            }
            return try await group.reduce(into: [StorageError.Code?]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == .conflict }.count == writers.count - 1, "\(outcomes)")
        #expect(try await store.stream(Self.urn)?.version == 2)
        #expect(try await store.events(EventQuery()).count == 1)
    }

    /// Commits racing with one new receipt: one commits, the others fail with a duplicate receipt (the receipt's key
    /// stops those that passed the check before the first committed) and write nothing.
    @Test func racingCommitsOfOneReceiptCommitOnce() async throws {
        let store = try Self.makeStore()
        let writers = try (0..<8).map { _ in try Self.sibling(of: store) }
        let outcomes = try await withThrowingTaskGroup(of: StorageError.Code?.self) { group in
            for (index, writer) in writers.enumerated() {
                group.addTask {
                    var change = StoreChange()
                    change.receipt = "http:same-key"
                    change.events = [
                        HealthEvent(
                            at: Date(timeIntervalSince1970: 2_000), kind: .streamCreated,
                            urn: "urn:health:test:\(index)",
                            subStreamId: "")
                    ]
                    do {
                        try await writer.commit(change)
                        return nil
                    } catch let error as StorageError {
                        return error.code
                    }
                }
            }
            return try await group.reduce(into: [StorageError.Code?]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == .duplicateReceipt }.count == writers.count - 1, "\(outcomes)")
        #expect(try await store.events(EventQuery()).count == 1)
    }

    /// While the database cannot be reached, a read fails as unavailable once the lease timeout has passed, not after
    /// the pool's minute of retries: what lets `serve` answer 503 and `/readyz` fail in time.
    @Test func aStatementWaitsForAConnectionNoLongerThanTheLeaseTimeout() async throws {
        // Port 1 on the loopback: nothing listens there, every connection is refused.
        let configuration = PostgresClient.Configuration(
            host: "127.0.0.1", port: 1, username: "healthsync", password: "unused", database: "healthsync",
            tls: .disable)
        let store = try PostgresHealthStore(
            configuration: configuration, leaseTimeout: .seconds(1), logger: PostgresTestDatabase.logger)
        await withThrowingTaskGroup(of: Void.self) { (group: inout ThrowingTaskGroup<Void, any Error>) in
            group.addTask { try await store.run() }
            let started = ContinuousClock.now
            let error = await #expect(throws: StorageError.self) { try await store.clock() }
            #expect(error?.code == .unavailable)
            #expect(
                error?.message.contains("no connection to the database within 1.0 seconds") == true,
                "\(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(30), "the pool's own give-up takes a minute")
            group.cancelAll()
        }
    }

    @Test func aDatabaseThatRefusesWritesIsReadOnly() async throws {
        let schema = PostgresTestDatabase.newSchemaName()
        try await PostgresTestDatabase.makeStore(schema: schema).prepareSchema()
        var configuration = try PostgresTestDatabase.configuration()
        configuration.options.additionalStartupParameters = [("default_transaction_read_only", "on")]
        let store = try PostgresHealthStore(
            configuration: configuration, schema: schema, logger: PostgresTestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { (group: inout ThrowingTaskGroup<Void, any Error>) in
            group.addTask { try await store.run() }
            let clock = try await store.clock()
            #expect(clock == nil)
            let error = await #expect(throws: StorageError.self) {
                try await store.commit(Self.change(saving: Self.stream()))
            }
            #expect(error?.code == .readOnly, "\(String(describing: error))")
            group.cancelAll()
        }
    }

    @Test func aStoredValueTheModelDoesNotKnowIsCorrupt() async throws {
        let store = try Self.makeStore()
        try await store.commit(Self.change(saving: Self.stream()))
        _ = try await store.client.query(
            PostgresQuery(unsafeSQL: "UPDATE \"\(store.schema)\".stream SET consistencyModel = 'SOMETIMES'"),
            logger: PostgresTestDatabase.logger
        ).collect()
        let error = await #expect(throws: StorageError.self) { try await store.stream(Self.urn) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("SOMETIMES") == true, "\(String(describing: error))")
    }

    @Test func aSchemaNameThatPostgreSQLCannotHoldIsRefused() throws {
        let client = try PostgresTestDatabase.makeStore().client
        for name in ["", String(repeating: "s", count: 64), "nul\0"] {
            #expect(throws: StorageError.self) {
                try PostgresHealthStore(client: client, schema: name, logger: PostgresTestDatabase.logger)
            }
        }
        // Any other name is quoted: a quote or a space in it is no SQL.
        _ = try PostgresHealthStore(client: client, schema: "a \"b\"; c", logger: PostgresTestDatabase.logger)
    }

    @Test func aSchemaNameWithQuotesAndSpacesHoldsAStore() async throws {
        let store = try PostgresTestDatabase.makeStore(schema: PostgresTestDatabase.newSchemaName() + " \"q\"; x")
        try await store.commit(Self.change(saving: Self.stream()))
        #expect(try await store.streams().map(\.urn) == [Self.urn])
    }
}

/// Migration `v2` (liveness, issue 17) on a schema at `v1`: the rows are kept, without liveness, and the new columns
/// take liveness afterwards.
@Suite(.enabled(if: PostgresTestDatabase.isEnabled, PostgresTestDatabase.skipReason))
struct PostgresLivenessMigrationTests {
    @Test func aVersion1SchemaIsMigratedWithItsRowsKept() async throws {
        let store = try PostgresTestDatabase.makeStore()
        let schema = "\"\(store.schema)\""
        let urn = "urn:health:test:migration"
        var statements = ["CREATE SCHEMA \(schema)", PostgresHealthStore.schemaVersionTable(schema)]
        statements += PostgresHealthStore.schemaV1(schema)
        statements += [
            "INSERT INTO \(schema).schemaVersion (version) VALUES ('v1')",
            "INSERT INTO \(schema).stream VALUES ('\(urn)', 'REPEAT_STATES', 1000, 1)",
            """
            INSERT INTO \(schema).subStream (urn, subStreamId, createdAt, repeatInterval, expiryInterval,
                snapshotSequence, lastMessageAt, lateDataDeadline, nextDeadline, messageCount, createCount,
                updateCount, deleteCount, totalLatency, lastLatency, version)
            VALUES ('\(urn)', 'node', 1000, 60, 600, 0, 1000, 1060, 1060, 1, 1, 0, 0, 0, 0, 1)
            """,
            "INSERT INTO \(schema).checkState VALUES ('\(urn)', 'node', 'a', 'A', 'CLEAR', 'urn:x', NULL, 1000, 0)",
        ]
        for statement in statements {
            _ = try await store.client.query(PostgresQuery(unsafeSQL: statement), logger: PostgresTestDatabase.logger)
                .collect()
        }
        #expect(try await store.appliedMigrations() == ["v1", "v2", "v3"])
        let key = StreamKey(urn: urn, subStreamId: "node")
        let subStream = try #require(try await store.subStream(key))
        #expect(subStream.deadlines == SubStreamDeadlines(lateData: Date(timeIntervalSince1970: 1_060)))
        var state = try #require(try await store.checkStates(of: key).first)
        #expect(state.checkState.health == .clear && state.liveness == nil)

        var moved = subStream
        moved.deadlines.silence = Date(timeIntervalSince1970: 1_050)
        state.liveness = CheckStateLiveness(interval: 30, grace: 20, silencedAt: Date(timeIntervalSince1970: 1_050))
        var change = StoreChange()
        change.savedSubStreams = [moved]
        change.savedCheckStates = [state]
        try await store.commit(change)
        #expect(try await store.checkStates(of: key).first?.liveness == state.liveness)
        #expect(try await store.nextDeadline() == Date(timeIntervalSince1970: 1_050))
    }
}

/// Migration `v3` (several writers, issue 16) on a schema at `v2`: the clock moves to one row per server connection,
/// keeping its value; commits write their own connection's row; retention folds the rows into the greatest.
@Suite(.enabled(if: PostgresTestDatabase.isEnabled, PostgresTestDatabase.skipReason))
struct PostgresClockMigrationTests {
    @Test func aVersion2ClockIsKeptAndEachConnectionWritesARowOfItsOwn() async throws {
        let store = try PostgresTestDatabase.makeStore()
        let schema = "\"\(store.schema)\""
        var statements = ["CREATE SCHEMA \(schema)", PostgresHealthStore.schemaVersionTable(schema)]
        statements += PostgresHealthStore.schemaV1(schema) + PostgresHealthStore.schemaV2(schema)
        statements += [
            "INSERT INTO \(schema).schemaVersion (version) VALUES ('v1'), ('v2')",
            "INSERT INTO \(schema).processorState (id, clock) VALUES (1, 5000)",
        ]
        let logger = PostgresTestDatabase.logger
        for statement in statements {
            _ = try await store.client.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
        }
        #expect(try await store.appliedMigrations() == ["v1", "v2", "v3"])
        #expect(try await store.clock() == Date(timeIntervalSince1970: 5_000))

        // Two writers at once, each on a connection of its own: neither waits for the other's clock row.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for clock in [6_000.0, 5_500] {
                group.addTask {
                    var change = StoreChange()
                    change.clock = Date(timeIntervalSince1970: clock)
                    try await store.commit(change)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.clock() == Date(timeIntervalSince1970: 6_000))
        let rows = { () async throws -> Int in
            try await store.client.query(
                PostgresQuery(unsafeSQL: "SELECT count(*)::bigint FROM \(schema).processorClock"), logger: logger
            ).collect().first.map { try $0.decode(Int64.self) }.map(Int.init) ?? 0
        }
        #expect(try await rows() >= 2, "the migrated row and the committing connections' rows")
        _ = try await store.pruneEvents(before: Date(timeIntervalSince1970: 0))
        #expect(try await rows() == 1)
        #expect(try await store.clock() == Date(timeIntervalSince1970: 6_000))
    }
}
