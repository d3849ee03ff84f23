import Foundation
import GRDB
import HealthSync
import HealthSyncTestSupport
import Testing

@testable import HealthSyncSQLite

/// A bulk load into an empty event record drops the record's stream index and builds it at its end
/// (`SQLiteHealthStore+BulkLoad.swift`): the events answer the same with and without it, the file ends with the
/// schema of one that kept it, and a load killed before the end leaves nothing the next writable open does not mend.
@Suite struct BulkLoadIndexTests {
    static let origin = Date(timeIntervalSince1970: 1_700_000_000)
    static let urns = ["urn:health:bulk:a", "urn:health:bulk:b", "urn:health:bulk:c"]

    /// Round `round` of a load: the streams with their main sub-streams (round 0), then an event of each stream a
    /// round, the streams interleaved so that each stream's events lie between the others' in time.
    static func change(round: Int) -> StoreChange {
        var change = StoreChange()
        for (offset, urn) in urns.enumerated() {
            let at = origin.addingTimeInterval(TimeInterval(round * 60 + offset))
            if round == 0 {
                change.savedStreams.append(StreamRecord(urn: urn, consistencyModel: .repeatStates, createdAt: at))
                change.savedSubStreams.append(
                    SubStreamRecord(key: .main(urn), createdAt: at, intervals: nil, lastMessageAt: at))
                change.events.append(HealthEvent(at: at, kind: .streamCreated, urn: urn, subStreamId: ""))
            }
            change.events.append(HealthEvent(at: at, kind: .snapshotCompleted, urn: urn, subStreamId: ""))
        }
        change.clock = origin.addingTimeInterval(TimeInterval(round * 60 + urns.count))
        return change
    }

    /// The schema's objects in the order the file lists them.
    static func schema(of store: SQLiteHealthStore) async throws -> [String] {
        try await store.read("reading the schema") { db in
            try String.fetchAll(
                db, sql: "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY rowid")
        }
    }

    static func hasIndex(_ store: SQLiteHealthStore) async throws -> Bool {
        try await store.read("reading the schema") { db in try SQLiteHealthStore.hasEventStreamIndex(db) }
    }

    /// Every query `history` and `audit` make of one stream, and of all.
    static func answers(of store: SQLiteHealthStore) async throws -> [[HealthEvent]] {
        var answers = [try await store.events(EventQuery())]
        for urn in urns {
            answers.append(try await store.events(EventQuery(urn: urn)))
            answers.append(try await store.events(EventQuery(urn: urn, subStreamId: "")))
            answers.append(
                try await store.events(EventQuery(urn: urn, since: origin.addingTimeInterval(60), limit: 2)))
        }
        return answers
    }

    @Test func aLoadIntoAnEmptyRecordDefersTheIndexAndEndsWithTheSchemaOfOneThatKeptIt() async throws {
        try await withTemporaryDirectory { directory in
            let kept = try SQLiteHealthStore(path: temporaryFile(in: directory))
            let deferred = try SQLiteHealthStore(path: temporaryFile(in: directory))
            #expect(try deferred.deferEventStreamIndexForBulkLoad())
            #expect(try await !Self.hasIndex(deferred))
            for round in 0..<4 {
                try await kept.commit(Self.change(round: round))
                try await deferred.commit(Self.change(round: round))
            }
            // Without the index, every query scans the record, with the same answers.
            let expected = try await Self.answers(of: kept)
            #expect(expected[1].count == 5 && expected[3].count == 2)
            #expect(try await Self.answers(of: deferred) == expected)

            try deferred.buildEventStreamIndex()
            #expect(try await Self.hasIndex(deferred))
            #expect(try await Self.schema(of: deferred) == Self.schema(of: kept))
            #expect(try await Self.answers(of: deferred) == expected)
            // Built once: a second call finds it and changes nothing.
            try deferred.buildEventStreamIndex()
            #expect(try await Self.schema(of: deferred) == Self.schema(of: kept))
        }
    }

    @Test func aRecordThatHoldsEventsKeepsItsIndex() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            try await store.commit(Self.change(round: 0))
            let schema = try await Self.schema(of: store)
            #expect(try !store.deferEventStreamIndexForBulkLoad())
            #expect(try await Self.hasIndex(store))
            #expect(try await Self.schema(of: store) == schema)
        }
    }

    @Test func aLoadKilledBeforeItsEndIsMendedByTheNextWritableOpen() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let reference = try SQLiteHealthStore(path: temporaryFile(in: directory))
            do {
                let store = try SQLiteHealthStore(path: path)
                #expect(try store.deferEventStreamIndexForBulkLoad())
                for round in 0..<3 {
                    try await store.commit(Self.change(round: round))
                    try await reference.commit(Self.change(round: round))
                }
                // The load stops here: no build.
                try store.close()
            }
            let expected = try await Self.answers(of: reference)
            // Read-only, the file cannot be mended: it answers by scanning.
            let readOnly = try SQLiteHealthStore(path: path, readOnly: true)
            #expect(try await !Self.hasIndex(readOnly))
            #expect(try await Self.answers(of: readOnly) == expected)
            try readOnly.close()

            let reopened = try SQLiteHealthStore(path: path)
            #expect(try await Self.hasIndex(reopened))
            #expect(try await Self.schema(of: reopened) == Self.schema(of: reference))
            #expect(try await Self.answers(of: reopened) == expected)
        }
    }
}
