import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

@testable import HealthSyncSQLite

/// Disk faults (Docs/reliability.md): a full disk and a read-only database refuse an envelope with a clear
/// ``StorageError`` and write nothing of it, and the store takes writes again once the fault is gone.
///
/// Two ways to make the fault: SQLite's own limits on the writer connection (`PRAGMA max_page_count` for a full
/// database, `PRAGMA query_only` for a read-only one), which work everywhere; and, where this process may mount
/// file systems (root on Linux), a real 1 MiB tmpfs that runs out of space and one remounted read-only.
@Suite struct DiskFaultTests {
    static let urn = "urn:health:test:disk"

    /// Envelope `index` of a deterministic sequence: a whole snapshot of 40 check states with long messages, so that
    /// every envelope needs new pages.
    static func envelope(_ index: Int) throws -> Envelope {
        let states = (0..<40).map { id in
            Payload.checkState(
                "check-\(index)-\(id)", health: id % 3 == 0 ? "CRITICAL" : "CLEAR",
                message: String(repeating: "disk \(index) volume \(id) ", count: 12)
            )
        }
        let text = Payload.envelope(
            at: time(index), [Payload.snapshot(urn, subStream: "s\(index % 4)", expiryInterval: 3_600, states: states)]
        )
        return try EnvelopeDecoder().decode(Array(text.utf8))
    }

    static func time(_ index: Int) -> Double { 1_700_000_000 + Double(index) * 10 }

    /// Applies envelopes `range` to `processor` with receipts, as the replayer does.
    static func apply(_ range: Range<Int>, to processor: HealthProcessor) async throws {
        for index in range {
            try await processor.apply(
                envelope(index), at: Date(timeIntervalSince1970: time(index)), receipt: "envelope-\(index)")
        }
    }

    /// Requires `actual` to hold exactly what `expected` holds: check states, errors, events, clock.
    static func expectSameState(
        _ actual: any HealthStore,
        _ expected: any HealthStore,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let actual = try #require(actual as? any HealthStoreQueries)
        let expected = try #require(expected as? any HealthStoreQueries)
        #expect(try await actual.allCheckStates() == expected.allCheckStates(), sourceLocation: sourceLocation)
        #expect(try await actual.streams() == expected.streams(), sourceLocation: sourceLocation)
        #expect(try await actual.errors(of: urn) == expected.errors(of: urn), sourceLocation: sourceLocation)
        #expect(try await actual.status(of: urn) == expected.status(of: urn), sourceLocation: sourceLocation)
        #expect(
            try await actual.events(EventQuery()) == expected.events(EventQuery()), sourceLocation: sourceLocation)
        #expect(try await actual.clock() == expected.clock(), sourceLocation: sourceLocation)
    }

    /// Applies envelopes from `first` on until one fails; returns its index and error.
    static func applyUntilFailure(
        from first: Int,
        to processor: HealthProcessor,
        limit: Int = 400
    ) async throws -> (index: Int, error: StorageError)? {
        for index in first..<(first + limit) {
            do {
                try await apply(index..<(index + 1), to: processor)
            } catch let error as StorageError {
                return (index, error)
            }
        }
        return nil
    }

    // MARK: Full disk

    @Test func aFullDatabaseRefusesTheWholeEnvelopeAndTakesItOnceThereIsSpace() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let store = try SQLiteHealthStore(path: path)
            let processor = HealthProcessor(store: store)
            let reference = HealthProcessor(store: InMemoryHealthStore())
            try await Self.apply(0..<3, to: processor)
            try await Self.apply(0..<3, to: reference)

            // SQLite does not lower the limit below the current size: this caps the file at what it holds now.
            try await store.execute("PRAGMA max_page_count = 1", transaction: false)
            let failure = try #require(await Self.applyUntilFailure(from: 3, to: processor))
            #expect(failure.error.code == .full, "\(failure.error)")
            #expect(failure.error.message.contains("full"), "\(failure.error)")

            // Nothing of the refused envelope was written, and the file is intact.
            try await Self.apply(3..<failure.index, to: reference)
            try await Self.expectSameState(store, reference.store)
            #expect(try await store.hasReceipt("envelope-\(failure.index)") == false)
            #expect(try await store.integrityCheck().isEmpty)

            // Space returns: the same envelope and the rest go through, to the state of an undisturbed run.
            try await store.execute("PRAGMA max_page_count = 1073741823", transaction: false)
            try await Self.apply(failure.index..<(failure.index + 3), to: processor)
            try await Self.apply(failure.index..<(failure.index + 3), to: reference)
            try await Self.expectSameState(store, reference.store)
            #expect(try await store.integrityCheck().isEmpty)
        }
    }

    @Test(.enabled(if: TinyFilesystem.isAvailable, "needs permission to mount a tmpfs (root on Linux)"))
    func aFullFileSystemRefusesTheWholeEnvelopeAndTakesItOnceThereIsSpace() async throws {
        try await TinyFilesystem.with { directory in
            let path = directory + "/health.sqlite"
            let reference = HealthProcessor(store: InMemoryHealthStore())
            let filler = directory + "/filler"
            do {
                let store = try SQLiteHealthStore(path: path)
                let processor = HealthProcessor(store: store)
                try await Self.apply(0..<2, to: processor)
                try await Self.apply(0..<2, to: reference)

                // Leave about 16 KiB free, then write envelopes until the file system is full.
                try TinyFilesystem.fill(directory, leaving: 16 << 10, with: filler)
                let failure = try #require(await Self.applyUntilFailure(from: 2, to: processor))
                #expect(failure.error.code == .full, "\(failure.error)")
                // GRDB reported the failed commit as committed: the context cache must not keep it.
                #expect(store.contextCacheStatistics?.size == 0)
                try await Self.apply(2..<failure.index, to: reference)
                try await Self.expectSameState(store, reference.store)
                #expect(try await store.hasReceipt("envelope-\(failure.index)") == false)

                // Space returns.
                try FileManager.default.removeItem(atPath: filler)
                try await Self.apply(failure.index..<(failure.index + 2), to: processor)
                try await Self.apply(failure.index..<(failure.index + 2), to: reference)
                try await Self.expectSameState(store, reference.store)
                #expect(try await store.integrityCheck().isEmpty)
            }
            // And a new process (a new store on the file) sees the same.
            let reopened = try SQLiteHealthStore(path: path)
            try await Self.expectSameState(reopened, reference.store)
        }
    }

    // MARK: Read-only

    @Test func aQueryOnlyConnectionRefusesTheEnvelopeAsReadOnlyAndTakesItOnceWritable() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            let processor = HealthProcessor(store: store)
            let reference = HealthProcessor(store: InMemoryHealthStore())
            try await Self.apply(0..<2, to: processor)
            try await Self.apply(0..<2, to: reference)

            try await store.execute("PRAGMA query_only = ON", transaction: false)
            let failure = try #require(await Self.applyUntilFailure(from: 2, to: processor, limit: 1))
            #expect(failure.error.code == .readOnly, "\(failure.error)")
            try await Self.expectSameState(store, reference.store)

            try await store.execute("PRAGMA query_only = OFF", transaction: false)
            try await Self.apply(2..<4, to: processor)
            try await Self.apply(2..<4, to: reference)
            try await Self.expectSameState(store, reference.store)
        }
    }

    @Test(.enabled(if: TinyFilesystem.isAvailable, "needs permission to mount a tmpfs (root on Linux)"))
    func aReadOnlyFileSystemRefusesTheStoreAndLosesNothing() async throws {
        try await TinyFilesystem.with(megabytes: 8) { directory in
            let path = directory + "/health.sqlite"
            let reference = HealthProcessor(store: InMemoryHealthStore())
            do {
                let processor = HealthProcessor(store: try SQLiteHealthStore(path: path))
                try await Self.apply(0..<2, to: processor)
                try await Self.apply(0..<2, to: reference)
            }
            // The store above is closed (its connections went with it), so the file system can go read-only.
            try TinyFilesystem.remount(directory, readOnly: true)

            // SQLite cannot open a WAL database on a read-only file system at all (it would have to create the
            // `-shm` file): the store refuses to open, naming the file, and nothing is written.
            let error = #expect(throws: StorageError.self) { _ = try SQLiteHealthStore(path: path) }
            #expect(error?.code == .unavailable || error?.code == .readOnly, "\(String(describing: error))")
            #expect(error?.message.contains(path) == true, "\(String(describing: error))")

            // Once writable again, the data is all there and writes go through.
            try TinyFilesystem.remount(directory, readOnly: false)
            let processor = HealthProcessor(store: try SQLiteHealthStore(path: path))
            try await Self.expectSameState(processor.store, reference.store)
            try await Self.apply(2..<4, to: processor)
            try await Self.apply(2..<4, to: reference)
            try await Self.expectSameState(processor.store, reference.store)
            #expect(try await SQLiteHealthStore(path: path).integrityCheck().isEmpty)
        }
    }
}
