import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HealthSyncSQLite

/// A database file lost or damaged under the running service (Docs/reliability.md, "Hostile clients"): nothing is
/// acknowledged into it, `/readyz` says why, and a store left alone stays ready.
@Suite struct StoreFileLossTests {
    static let urn = "urn:health:test:file-loss"

    static func envelope(_ index: Int) -> String {
        Payload.envelope([
            Payload.snapshot(urn, states: (0..<20).map { Payload.checkState("check-\(index)-\($0)") })
        ])
    }

    /// Expects `/readyz` not ready with a reason containing `reason`, and the intake 503 with nothing applied.
    static func expectRefused(_ client: some TestClientProtocol, reason: String) async throws {
        let ready = try await client.get("/readyz")
        #expect(ready.status == .serviceUnavailable)
        #expect(try ready.json.string("reason")?.contains(reason) == true, "\(ready.text)")
        let intake = try await client.postEnvelope(Self.envelope(99))
        #expect(intake.status == .serviceUnavailable)
        #expect(try intake.json.string("_type") == "StorageUnavailable", "\(intake.text)")
    }

    @Test func deletedDatabaseFilesAreNotAcknowledgedIntoAndMakeTheServiceUnready() async throws {
        try await RestartTests.withDatabase { path in
            let harness = try Harness(store: try SQLiteHealthStore(path: path))
            try await harness.test { client async throws in
                #expect(try await client.postEnvelope(Self.envelope(0)).status == .ok)
                #expect(try await client.get("/readyz").status == .ok)
                for suffix in ["", "-wal", "-shm"] { try FileManager.default.removeItem(atPath: path + suffix) }
                try await Self.expectRefused(client, reason: "was deleted or moved away")
            }
        }
    }

    @Test func aReplacedDatabaseFileIsNotAcknowledgedInto() async throws {
        try await RestartTests.withDatabase { path in
            let harness = try Harness(store: try SQLiteHealthStore(path: path))
            try await harness.test { client async throws in
                #expect(try await client.postEnvelope(Self.envelope(0)).status == .ok)
                let copy = path + ".copy"
                try FileManager.default.copyItem(atPath: path, toPath: copy)
                #expect(rename(copy, path) == 0)
                try await Self.expectRefused(client, reason: "was replaced while open")
            }
        }
    }

    @Test func aTruncatedDatabaseFileIsNotAcknowledgedIntoOnceTheProbeConfirmsIt() async throws {
        try await RestartTests.withDatabase { path in
            let harness = try Harness(store: try SQLiteHealthStore(path: path))
            try await harness.test { client async throws in
                for index in 0..<3 { #expect(try await client.postEnvelope(Self.envelope(index)).status == .ok) }
                // The header and pages to the file, as SQLite's checkpoints leave it.
                let store = try #require(harness.store as? SQLiteHealthStore)
                try await store.execute("PRAGMA wal_checkpoint(TRUNCATE)", transaction: false)
                await harness.api.storeMonitor.probeOnce()
                #expect(try await client.get("/readyz").status == .ok)
                for (suffix, length) in [("", 0), ("-wal", 0)] {
                    #expect(truncate(path + suffix, off_t(length)) == 0)
                }
                await harness.api.storeMonitor.probeOnce()
                await harness.api.storeMonitor.probeOnce()
                try await Self.expectRefused(client, reason: "truncated")
            }
        }
    }

    @Test func aFileTruncatedToHalfIsFoundByTheProbe() async throws {
        try await RestartTests.withDatabase { path in
            let store = try SQLiteHealthStore(path: path)
            let harness = try Harness(store: store)
            try await harness.test { client async throws in
                for index in 0..<20 { #expect(try await client.postEnvelope(Self.envelope(index)).status == .ok) }
                try await store.execute("PRAGMA wal_checkpoint(TRUNCATE)", transaction: false)
                let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
                #expect(size >= 4 * 4096)
                #expect(truncate(path, off_t(size / 4096 / 2 * 4096)) == 0)
                await #expect(throws: StorageError.self) { try await store.probe() }
            }
        }
    }

    @Test func aStoreLeftAloneStaysReadyAndAcknowledges() async throws {
        try await RestartTests.withDatabase { path in
            let harness = try Harness(store: try SQLiteHealthStore(path: path))
            try await harness.test { client async throws in
                for index in 0..<30 {
                    #expect(try await client.postEnvelope(Self.envelope(index)).status == .ok)
                    if index % 10 == 0 { await harness.api.storeMonitor.probeOnce() }
                }
                await harness.api.storeMonitor.probeOnce()
                #expect(try await client.get("/readyz").status == .ok)
                #expect(try await client.postEnvelope(Self.envelope(30)).status == .ok)
            }
        }
    }

    @Test(.enabled(if: ImmutableFlag.isAvailable, "needs chattr +i (root, ext4)"))
    func anUnwritableWALIndexMakesTheServiceUnreadyBeforeAnyWrite() async throws {
        try await RestartTests.withDatabase { path in
            let harness = try Harness(store: try SQLiteHealthStore(path: path))
            // The routes and the intake alone, without the sweeper and the monitor: no read of this test's making may
            // run once the flag is set, since a reader that updates its read mark writes the mapping too (and would be
            // killed).
            let app = Application(router: harness.api.buildRouter(), services: [harness.api.intakeService])
            try await app.test(.router) { client async throws in
                #expect(try await client.postEnvelope(Self.envelope(0)).status == .ok)
                #expect(try await client.get("/readyz").status == .ok)
                try ImmutableFlag.set(true, on: [path + "-shm"])
                defer { try? ImmutableFlag.set(false, on: [path + "-shm"]) }
                // Refused before the write that would fault (SIGBUS) on SQLite's mapping of the -shm.
                try await Self.expectRefused(client, reason: "cannot be written")
                try ImmutableFlag.set(false, on: [path + "-shm"])
                #expect(try await client.get("/readyz").status == .ok)
                #expect(try await client.postEnvelope(Self.envelope(1)).status == .ok)
            }
        }
    }

    @Test(.enabled(if: ImmutableFlag.isAvailable, "needs chattr +i (root, ext4)"))
    func aStoreWhoseWALIndexCannotBeWrittenRefusesToOpen() async throws {
        try await RestartTests.withDatabase { path in
            do {
                let store = try SQLiteHealthStore(path: path)
                try await store.commit(StoreChange())
            }
            // SQLite deletes the -shm when the last connection closes; a restart after a crash meets one: make one.
            if !FileManager.default.fileExists(atPath: path + "-shm") {
                #expect(FileManager.default.createFile(atPath: path + "-shm", contents: Data()))
            }
            try ImmutableFlag.set(true, on: [path + "-shm"])
            defer { try? ImmutableFlag.set(false, on: [path + "-shm"]) }
            let error = #expect(throws: StorageError.self) { try SQLiteHealthStore(path: path) }
            #expect(
                error?.message.contains("-shm (the WAL index) cannot be written") == true,
                "\(String(describing: error))")
        }
    }
}
