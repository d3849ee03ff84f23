import Foundation
import GRDB
import HealthSync
import HealthSyncTestSupport
import Testing

@testable import HealthSyncSQLite

/// The dictionary of event texts (schema v3) as the writer keeps it: a text first written by a transaction that
/// rolls back is forgotten with it, so that its key (which SQLite hands out again) never names another text.
@Suite struct EventTextsTests {
    static let urn = "urn:health:test:texts"
    static let origin = Date(timeIntervalSince1970: 1_700_000_000)

    /// A change of one event naming check state `id` with `message`, and `receipt`.
    static func change(_ id: String, message: String, at offset: Double, receipt: String? = nil) -> StoreChange {
        var change = StoreChange()
        change.events = [
            HealthEvent(
                at: origin.addingTimeInterval(offset), kind: .checkStateCreated, urn: urn, subStreamId: "",
                checkState: CheckState(
                    checkStateId: id, name: "Name of \(id)", health: .critical,
                    topologyElementIdentifier: "urn:host:/\(id)", message: message))
        ]
        change.receipts = receipt.map { [$0] } ?? []
        return change
    }

    @Test func textsOfARolledBackCommitAreForgotten() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            // Fails every commit of receipt "boom" after its events were written.
            try await store.execute(
                """
                CREATE TRIGGER boom AFTER INSERT ON receipt WHEN NEW.receipt = 'boom'
                BEGIN SELECT RAISE(ABORT, 'boom'); END
                """)
            try await store.commit(Self.change("kept", message: "known before", at: 0))
            await #expect(throws: StorageError.self) {
                try await store.commit(
                    Self.change("lost", message: "only in the failed commit", at: 1, receipt: "boom"))
            }
            // Other texts take the keys the rolled-back texts had; then the rolled-back texts come again.
            try await store.commit(Self.change("other", message: "after the failure", at: 2))
            try await store.commit(Self.change("lost", message: "only in the failed commit", at: 3))

            let events = try await store.events(EventQuery(urn: Self.urn))
            #expect(events.map { $0.checkState?.checkStateId } == ["kept", "other", "lost"])
            #expect(
                events.map { $0.checkState?.message } == [
                    "known before", "after the failure", "only in the failed commit",
                ])
            #expect(events.map { $0.checkState?.name } == ["Name of kept", "Name of other", "Name of lost"])
            #expect(events.map(\.kind) == [.checkStateCreated, .checkStateCreated, .checkStateCreated])
            #expect(events.allSatisfy { $0.checkState?.health == .critical && $0.urn == Self.urn })
        }
    }

    @Test func eachTextIsStoredOnceWhateverManyEventsNameIt() async throws {
        let store = try SQLiteHealthStore.inMemory()
        for round in 0..<5 {
            try await store.commit(Self.change("same", message: "the same message", at: Double(round)))
        }
        #expect(try await store.events(EventQuery(urn: Self.urn)).count == 5)
        // The seeds (kinds, healths, …) plus the URN, the id, the name, the element and the message, once each.
        let texts = try await store.count("SELECT count(*) FROM eventText")
        #expect(texts == EventTexts.seeds.count + 5)
    }

    /// A store opened on a file another store wrote does not remember that store's texts: it inserts them, finds
    /// them there, and keys its events with the keys they have.
    @Test func textsAnotherStoreWroteAreFoundNotInsertedAgain() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let first = try SQLiteHealthStore(path: path)
            try await first.commit(Self.change("shared", message: "written first", at: 0))
            let event = try #require(try await first.events(EventQuery(urn: Self.urn)).first)
            let keys = try await Self.storedKeys(of: event, in: first)
            try first.close()

            let second = try SQLiteHealthStore(path: path)
            try await second.commit(Self.change("shared", message: "written first", at: 1))
            try await second.commit(Self.change("shared", message: "written second", at: 2))
            let events = try await second.events(EventQuery(urn: Self.urn))
            #expect(events.map { $0.checkState?.message } == ["written first", "written first", "written second"])
            #expect(events.allSatisfy { $0.checkState?.name == "Name of shared" && $0.kind == .checkStateCreated })
            // One text more (the second message); the first commit's texts kept their keys.
            #expect(try await second.count("SELECT count(*) FROM eventText") == EventTexts.seeds.count + 6)
            #expect(try await Self.storedKeys(of: event, in: second) == keys)
            let rows = try await second.count(
                "SELECT count(DISTINCT name) FROM eventRecord WHERE checkStateId = \(keys[3])")
            #expect(rows == 1)
        }
    }

    /// Past its capacity the memory of keys starts over: the texts it forgot are found in `eventText` again, not
    /// inserted twice, and every event keeps its own texts.
    @Test func pastItsCapacityTheMemoryStartsOverAndKeysStayRight() async throws {
        let store = try SQLiteHealthStore.inMemory()
        let texts = EventTexts(capacity: 8)
        for round in 0..<6 {
            let change = Self.change("c\(round % 3)", message: "m\(round)", at: Double(round))
            try await store.write("a test commit") { db in
                try texts.beginTransaction(in: db)
                try SQLiteHealthStore.apply(change, in: db, texts: texts)
            }
            // One transaction's texts at most beside what the check at its start left (8 or fewer).
            #expect(texts.rememberedCount <= 8 + 5 + 3, "round \(round)")
        }
        let events = try await store.events(EventQuery(urn: Self.urn))
        #expect(events.map { $0.checkState?.checkStateId } == ["c0", "c1", "c2", "c0", "c1", "c2"])
        #expect(events.map { $0.checkState?.message } == (0..<6).map { "m\($0)" })
        #expect(events.map { $0.checkState?.name } == ["c0", "c1", "c2", "c0", "c1", "c2"].map { "Name of \($0)" })
        // The URN, three ids, names and elements, six messages: each once.
        #expect(try await store.count("SELECT count(*) FROM eventText") == EventTexts.seeds.count + 1 + 3 * 3 + 6)
    }

    /// The texts `eventRecord` keys, in its column order.
    static func texts(of event: HealthEvent) -> [String?] {
        let checkState = event.checkState
        return [
            event.kind.rawValue, event.urn, event.subStreamId, checkState?.checkStateId, checkState?.name,
            checkState?.health.rawValue, checkState?.topologyElementIdentifier, checkState?.message,
            event.previousHealth?.rawValue, event.deletionReason?.rawValue, event.errorCode?.rawValue,
        ]
    }

    /// The keys `eventText` holds for the texts of `event`; ``EventTexts/absent`` for a text the event lacks.
    static func storedKeys(of event: HealthEvent, in store: SQLiteHealthStore) async throws -> [Int64] {
        var keys: [Int64] = []
        for text in texts(of: event) {
            guard let text else {
                keys.append(EventTexts.absent)
                continue
            }
            let escaped = text.replacingOccurrences(of: "'", with: "''")
            keys.append(Int64(try await store.count("SELECT id FROM eventText WHERE text = '\(escaped)'")))
        }
        return keys
    }

    @Test func keysLookedUpBeforeACommitAreCommittedOnesOnly() async throws {
        let store = try SQLiteHealthStore.inMemory()
        let first = Self.change("a", message: "first message", at: 0)
        let event = try #require(first.events.first)
        // Nothing is committed yet: every text the event has is unknown.
        #expect(
            store.eventTexts.committedKeys(of: first.events)
                == Self.texts(of: event).map { $0 == nil ? EventTexts.absent : EventTexts.unknown })

        try await store.commit(first)
        let stored = try await Self.storedKeys(of: event, in: store)
        // The texts the commit found stored (kind, sub-stream, health) are committed; those it inserted are pending
        // until the next transaction sees their rows, and are not handed out.
        let afterOne = store.eventTexts.committedKeys(of: first.events)
        #expect(afterOne.count == EventTexts.textsPerEvent)
        for (offset, key) in afterOne.enumerated() {
            let inserted = [1, 3, 4, 6, 7].contains(offset)
            #expect(key == (inserted ? EventTexts.unknown : stored[offset]), "text \(offset)")
        }

        try await store.commit(Self.change("b", message: "second message", at: 1))
        #expect(store.eventTexts.committedKeys(of: first.events) == stored)
    }

    /// The kind, the URN and the healths repeat from event to event and are looked up once for each run of them:
    /// a text that changes midway, and back, still takes its own key.
    @Test func keysOfTextsThatRepeatAndChangeFromEventToEvent() async throws {
        let store = try SQLiteHealthStore.inMemory()
        var change = StoreChange()
        for (offset, urn) in [Self.urn, Self.urn, "urn:health:test:other", Self.urn].enumerated() {
            let state = CheckState(
                checkStateId: "c\(offset)", name: "Name \(offset)", health: offset == 2 ? .clear : .critical,
                topologyElementIdentifier: "urn:host:/\(offset)", message: offset == 1 ? nil : "message \(offset)")
            change.events.append(
                HealthEvent(
                    at: Self.origin, kind: offset == 3 ? .checkStateUpdated : .checkStateCreated, urn: urn,
                    subStreamId: offset == 3 ? "sub" : "", checkState: state,
                    previousHealth: offset == 3 ? .deviating : nil))
        }
        change.events.append(
            HealthEvent(at: Self.origin, kind: .streamCreated, urn: Self.urn, subStreamId: "", detail: "details"))
        try await store.commit(change)
        // The next transaction finds the first one's texts committed.
        try await store.commit(Self.change("b", message: "second message", at: 1))

        var expected: [Int64] = []
        for event in change.events { expected += try await Self.storedKeys(of: event, in: store) }
        #expect(store.eventTexts.committedKeys(of: change.events) == expected)
        #expect(!expected.contains(EventTexts.unknown))
    }

    /// A queued commit's writer completes the keys looked up on the caller's thread under one hold of the lock,
    /// before it inserts the events (``EventTexts/completedKeys(of:known:in:)``); a plain commit looks each event's
    /// texts up as it inserts it. Both leave the same dictionary and events, key for key: texts new in a change,
    /// repeated within it, pending from the commit before and committed long ago.
    @Test func keysCompletedBeforeTheInsertsAreThoseOfInsertsOneAtATime() async throws {
        var changes: [StoreChange] = []
        for round in 0..<4 {
            var change = StoreChange()
            for index in 0..<12 {
                // Ids and names come back every round, messages every other, elements are new each round; each
                // change names some of its new texts twice.
                let id = "check-\(index % 6)"
                let message: String? = index % 5 == 0 ? nil : "message \((index + round) % 4) of round \(round / 2)"
                change.events.append(
                    HealthEvent(
                        at: Self.origin.addingTimeInterval(Double(round)), kind: .checkStateCreated, urn: Self.urn,
                        subStreamId: round % 2 == 0 ? "" : "sub-\(round)",
                        checkState: CheckState(
                            checkStateId: id, name: "Name of \(id)", health: index % 3 == 0 ? .clear : .critical,
                            topologyElementIdentifier: "urn:host:/round-\(round)/\(index / 2)", message: message)))
            }
            changes.append(change)
        }
        let oneAtATime = try SQLiteHealthStore.inMemory()
        for change in changes { try await oneAtATime.commit(change) }
        let queued = try SQLiteHealthStore.inMemory()
        var previous: CommitTicket?
        for change in changes { previous = queued.queueCommit(change, after: previous) }
        try await previous?.wait()

        func rows(_ store: SQLiteHealthStore, _ sql: String) async throws -> [String] {
            try await store.writer.read { db in try String.fetchAll(db, sql: sql) }
        }
        let dictionary = "SELECT id || ':' || text FROM eventText ORDER BY id"
        let events = """
            SELECT sequence || '|' || kind || '|' || urn || '|' || subStreamId || '|' || checkStateId || '|' || name
                || '|' || health || '|' || topologyElementIdentifier || '|' || ifnull(message, '-')
            FROM eventRecord ORDER BY sequence
            """
        let texts = try await rows(oneAtATime, dictionary)
        #expect(texts.count > EventTexts.seeds.count + 20)
        #expect(try await rows(queued, dictionary) == texts)
        let records = try await rows(oneAtATime, events)
        #expect(records.count == 48)
        #expect(try await rows(queued, events) == records)
    }

    @Test func aQueuedCommitKeysTextsNewSinceItWasQueued() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            try await store.execute(
                """
                CREATE TRIGGER boom AFTER INSERT ON receipt WHEN NEW.receipt = 'boom'
                BEGIN SELECT RAISE(ABORT, 'boom'); END
                """)
            try await store.commit(Self.change("kept", message: "known before", at: 0))
            try await store.commit(Self.change("other", message: "committed", at: 1))
            // Queued together: the second's texts are keyed while the first commits; the third's were first written
            // by a commit that rolled back.
            let failing = store.queueCommit(
                Self.change("lost", message: "only in the failed commit", at: 2, receipt: "boom"), after: nil)
            await #expect(throws: StorageError.self) { try await failing.wait() }
            let queued = [
                Self.change("kept", message: "committed", at: 3),
                Self.change("new", message: "new here", at: 4),
                Self.change("lost", message: "only in the failed commit", at: 5),
            ]
            var previous: CommitTicket?
            for change in queued { previous = store.queueCommit(change, after: previous) }
            try await previous?.wait()

            let events = try await store.events(EventQuery(urn: Self.urn))
            #expect(events.map { $0.checkState?.checkStateId } == ["kept", "other", "kept", "new", "lost"])
            #expect(
                events.map { $0.checkState?.message } == [
                    "known before", "committed", "committed", "new here", "only in the failed commit",
                ])
            for event in events {
                let name = "Name of \(event.checkState?.checkStateId ?? "")"
                #expect(event.checkState?.name == name)
            }
            // Each text once: the URN, each check state's id, name and element, and the four messages.
            let texts = try await store.count("SELECT count(*) FROM eventText")
            #expect(texts == EventTexts.seeds.count + 1 + 4 * 3 + 4)
        }
    }
}
