import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTestSupport
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HealthSyncSQLite

/// Disk faults through the intake, on the real SQLite store (Docs/reliability.md): a full disk and a database that
/// cannot be written answer 503 with a body that says why and that nothing was applied, write nothing of the
/// envelope, and the same envelope is accepted once the fault is gone, to the state of an undisturbed run.
@Suite struct StorageFaultIntakeTests {
    static let urn = "urn:health:test:intake-disk"

    /// Envelope `index` of a deterministic sequence: a whole snapshot of 40 check states with long messages on one of
    /// four sub-streams, so that every envelope needs new pages.
    static func body(_ index: Int) -> String {
        let states = (0..<40).map { id in
            Payload.checkState(
                "check-\(index)-\(id)", health: id % 3 == 0 ? "CRITICAL" : "CLEAR",
                message: String(repeating: "disk \(index) volume \(id) ", count: 12)
            )
        }
        return Payload.envelope([
            Payload.snapshot(urn, subStream: "s\(index % 4)", expiryInterval: 3_600, states: states)
        ])
    }

    /// The undisturbed run: the accepted envelopes applied in memory, at the harness's (unmoving) time.
    struct Reference {
        let processor = HealthProcessor(store: InMemoryHealthStore())

        func apply(_ index: Int) async throws {
            let envelope = try EnvelopeDecoder().decode(Array(StorageFaultIntakeTests.body(index).utf8))
            try await processor.apply(envelope, at: Harness.start, receivedAt: Harness.start)
        }
    }

    /// Requires `actual` to hold exactly what the reference holds: check states, streams, errors, events, clock.
    static func expectSameState(
        _ actual: any HealthStore,
        _ reference: Reference,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let actual = try #require(actual as? any HealthStoreQueries)
        let expected = try #require(reference.processor.store as? any HealthStoreQueries)
        #expect(try await actual.allCheckStates() == expected.allCheckStates(), sourceLocation: sourceLocation)
        #expect(try await actual.streams() == expected.streams(), sourceLocation: sourceLocation)
        #expect(try await actual.errors(of: urn) == expected.errors(of: urn), sourceLocation: sourceLocation)
        #expect(
            try await actual.events(EventQuery()) == expected.events(EventQuery()), sourceLocation: sourceLocation)
        #expect(try await actual.clock() == expected.clock(), sourceLocation: sourceLocation)
    }

    /// Posts the envelopes of `indices`, expecting each to be accepted, and applies them to `reference`.
    static func postAccepted(
        _ indices: Range<Int>, _ client: some TestClientProtocol, reference: Reference,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for index in indices {
            #expect(try await client.postEnvelope(body(index)).status == .ok, sourceLocation: sourceLocation)
            try await reference.apply(index)
        }
    }

    /// Posts envelopes from `first` on, applying each accepted one to `reference`, until one is refused; returns
    /// its index and the answer.
    static func postUntilRefused(
        from first: Int,
        _ client: some TestClientProtocol,
        reference: Reference,
        limit: Int = 400
    ) async throws -> (index: Int, response: TestResponse)? {
        for index in first..<(first + limit) {
            let response = try await client.postEnvelope(body(index))
            guard response.status == .ok else { return (index, response) }
            try await reference.apply(index)
        }
        return nil
    }

    /// Checks a refusal: 503, a retry hint, a JSON body naming the store's state and saying nothing was applied.
    static func expectUnavailable(
        _ response: TestResponse,
        storage: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status == .serviceUnavailable, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers[.retryAfter] == "5", sourceLocation: sourceLocation)
        let json = try response.json
        #expect(json.string("_type") == "StorageUnavailable", sourceLocation: sourceLocation)
        #expect(json.string("storage") == storage, "\(response.text)", sourceLocation: sourceLocation)
        #expect(json.string("message")?.contains("nothing was applied") == true, sourceLocation: sourceLocation)
    }

    /// After the fault is gone: the refused envelope and two more are accepted, to the reference's state.
    static func expectRecovery(
        from refused: Int,
        _ client: some TestClientProtocol,
        store: SQLiteHealthStore,
        reference: Reference,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for index in refused..<(refused + 3) {
            let response = try await client.postEnvelope(body(index))
            #expect(response.status == .ok, "envelope \(index): \(response.text)", sourceLocation: sourceLocation)
            try await reference.apply(index)
        }
        try await expectSameState(store, reference, sourceLocation: sourceLocation)
        #expect(try await store.integrityCheck().isEmpty, sourceLocation: sourceLocation)
    }

    @Test func aFullDatabaseAnswers503AndTakesTheSameEnvelopeOnceThereIsSpace() async throws {
        try await RestartTests.withDatabase { path in
            let store = try SQLiteHealthStore(path: path)
            let reference = Reference()
            try await Harness(store: store).test { client async throws in
                try await Self.postAccepted(0..<3, client, reference: reference)
                // SQLite does not lower the limit below the current size: this caps the file at what it holds now.
                try await store.execute("PRAGMA max_page_count = 1", transaction: false)
                let refused = try #require(try await Self.postUntilRefused(from: 3, client, reference: reference))
                try Self.expectUnavailable(refused.response, storage: "full")
                try await Self.expectSameState(store, reference)
                #expect(try await store.integrityCheck().isEmpty)
                #expect(try await client.get("/readyz").status == .ok, "reads still work: the service stays ready")

                try await store.execute("PRAGMA max_page_count = 1073741823", transaction: false)
                try await Self.expectRecovery(from: refused.index, client, store: store, reference: reference)
            }
        }
    }

    @Test(.enabled(if: TinyFilesystem.isAvailable, "needs permission to mount a tmpfs (root on Linux)"))
    func aFullFileSystemAnswers503AndTakesTheSameEnvelopeOnceThereIsSpace() async throws {
        try await TinyFilesystem.with { directory in
            let path = directory + "/health.sqlite"
            let filler = directory + "/filler"
            let reference = Reference()
            do {
                let store = try SQLiteHealthStore(path: path)
                try await Harness(store: store).test { client async throws in
                    try await Self.postAccepted(0..<2, client, reference: reference)
                    // Leave about 16 KiB free, then post until the file system is full (ENOSPC in the WAL).
                    try TinyFilesystem.fill(directory, leaving: 16 << 10, with: filler)
                    let refused = try #require(try await Self.postUntilRefused(from: 2, client, reference: reference))
                    try Self.expectUnavailable(refused.response, storage: "full")
                    try await Self.expectSameState(store, reference)

                    try FileManager.default.removeItem(atPath: filler)
                    try await Self.expectRecovery(from: refused.index, client, store: store, reference: reference)
                }
            }
            // A new process on the file sees the same.
            try await Self.expectSameState(try SQLiteHealthStore(path: path), reference)
        }
    }

    @Test func aQueryOnlyDatabaseAnswers503AndTakesTheSameEnvelopeOnceWritable() async throws {
        try await RestartTests.withDatabase { path in
            let store = try SQLiteHealthStore(path: path)
            let reference = Reference()
            try await Harness(store: store).test { client async throws in
                try await Self.postAccepted(0..<2, client, reference: reference)
                try await store.execute("PRAGMA query_only = ON", transaction: false)
                let refused = try #require(try await Self.postUntilRefused(from: 2, client, reference: reference))
                #expect(refused.index == 2)
                try Self.expectUnavailable(refused.response, storage: "readOnly")
                try await Self.expectSameState(store, reference)

                try await store.execute("PRAGMA query_only = OFF", transaction: false)
                try await Self.expectRecovery(from: refused.index, client, store: store, reference: reference)
            }
        }
    }

    @Test(.enabled(if: ImmutableFlag.isAvailable, "needs chattr and a file system with the immutable flag, as root"))
    func aDatabaseFileMadeImmutableAnswers503AndRecoversWhenWritableAgain() async throws {
        try await RestartTests.withDatabase { path in
            let store = try SQLiteHealthStore(path: path)
            let reference = Reference()
            try await Harness(store: store).test { client async throws in
                try await Self.postAccepted(0..<2, client, reference: reference)
                // Not even root may write an immutable file, and the flag binds the descriptors open already.
                let files = [path, path + "-wal"]
                try ImmutableFlag.set(true, on: files)
                do {
                    let refused = try #require(try await Self.postUntilRefused(from: 2, client, reference: reference))
                    #expect(refused.index == 2)
                    try Self.expectUnavailable(refused.response, storage: "unavailable")
                    try await Self.expectSameState(store, reference)
                } catch {
                    try? ImmutableFlag.set(false, on: files)
                    throw error
                }
                try ImmutableFlag.set(false, on: files)
                try await Self.expectRecovery(from: 2, client, store: store, reference: reference)
            }
            try await Self.expectSameState(try SQLiteHealthStore(path: path), reference)
        }
    }
}

/// `chattr +i`: a file nobody may write, root included, whatever descriptors are open on it.
enum ImmutableFlag {
    /// Whether `chattr +i` works here (root, `chattr` installed, a file system that has the flag).
    static let isAvailable: Bool = {
        #if os(Linux)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chattr") else { return false }
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("healthsync-chattr-\(UUID())").path
        guard FileManager.default.createFile(atPath: probe, contents: Data("x".utf8)) else { return false }
        defer {
            _ = try? QuietProcess.run("/usr/bin/chattr", ["-i", probe])
            try? FileManager.default.removeItem(atPath: probe)
        }
        guard (try? QuietProcess.run("/usr/bin/chattr", ["+i", probe])) == 0 else { return false }
        return !FileManager.default.isWritableFile(atPath: probe)
        #else
        return false
        #endif
    }()

    /// Sets or clears the flag on `files`.
    static func set(_ immutable: Bool, on files: [String]) throws {
        for file in files {
            let status = try QuietProcess.run("/usr/bin/chattr", [immutable ? "+i" : "-i", file])
            try #require(status == 0, "chattr \(immutable ? "+i" : "-i") \(file)")
        }
    }
}
