import Foundation
import GRDB
import HealthSync
import HealthSyncSQLite
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// The crash harness of Docs/reliability.md for `healthsync replay`: kills the process with SIGKILL at random
/// points and, after every kill, checks that the database is intact, that the envelopes it reports applied (their
/// receipts) are a prefix of the capture, and that the stored state is exactly that prefix's: every applied envelope
/// fully present, none half-applied. The last run must end where an uninterrupted replay ends.
///
/// `HEALTHSYNC_KILL_HARNESS_KILLS` sets the number of kills (default 10) and `HEALTHSYNC_KILL_HARNESS_SECONDS` bounds
/// the time spent killing (default 600 s), for the long run.
///
/// The replay commits many envelopes per transaction (``Replayer/envelopesPerCommit``: 7, 16 or the default, by kill);
/// the reference applies them one at a time. A record committed once for several envelopes has a lower version than one committed once per envelope,
/// so statuses are compared without the sub-stream records' versions (a model lock the processor alone reads).
@Suite(.serialized) struct ReplayKillHarnessTests {
    static let environment = ProcessInfo.processInfo.environment
    static let kills = environment["HEALTHSYNC_KILL_HARNESS_KILLS"].flatMap(Int.init) ?? 10
    static let seconds = environment["HEALTHSYNC_KILL_HARNESS_SECONDS"].flatMap(Double.init) ?? 600
    static let until = 1_700_020_000.0

    @Test func everyEnvelopeReportedAppliedIsWholeAfterEveryKill() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            let capture = ReplayCrashTests.capture(envelopes: 160, seed: 2_024)
            let payload = try workspace.write("capture.jsonl", capture)
            let bytes = Array(capture.utf8)
            let digest = PayloadFile.digest(bytes)
            let entries = PayloadFile.entries(in: bytes, jsonLines: true)
            let receipts = entries.map { "replay:\(digest):\($0.line)" }
            let envelopes = try entries.map { try EnvelopeDecoder().decode($0.bytes) }
            let crashed = workspace.directory.appendingPathComponent("crashed.sqlite").path
            let arguments = ["replay", "--db", crashed, "--until", String(Int(Self.until)), payload]

            // The reference follows the crashed database's prefix; it only ever moves forward.
            let reference = Prefix(envelopes: envelopes, receipts: receipts)
            var generator = SeededRandom(seed: 99)
            let started = ContinuousClock.now
            var landed = 0
            for attempt in 0..<Self.kills where ContinuousClock.now - started < .seconds(Self.seconds) {
                // Batches of several sizes, so that kills land between commits of several envelopes each.
                let perCommit = ["--envelopes-per-commit", String([7, 16, 256][attempt % 3])]
                let (process, exit) = try ReplayCrashTests.start(binary, arguments + perCommit)
                try await Task.sleep(for: .microseconds(2_000 + generator.next() % 250_000))
                if process.isRunning {
                    process.send(SIGKILL)
                    landed += 1
                }
                _ = await exit.status()
                guard FileManager.default.fileExists(atPath: crashed) else { continue }

                let store = try SQLiteHealthStore(path: crashed)
                #expect(try await store.integrityCheck().isEmpty, "kill \(attempt): PRAGMA integrity_check")
                // A replay into the new file defers its event index to its end; the open mends a killed one's.
                #expect(try ReplayCommandTests.eventIndexRow(in: crashed) != nil, "kill \(attempt): event index")
                var applied: [Bool] = []
                for receipt in receipts { applied.append(try await store.hasReceipt(receipt)) }
                let count = applied.prefix { $0 }.count
                #expect(!applied.dropFirst(count).contains(true), "kill \(attempt): receipts are not a prefix")
                try await reference.advance(to: count)
                try await Self.expectPrefixState(store, reference: reference, count: count, kill: attempt)
            }
            #expect(try await ReplayCrashTests.run(binary, arguments) == 0)
            #expect(try ReplayCommandTests.eventIndexRow(in: crashed) != nil, "the last run builds the event index")
            let final = try SQLiteHealthStore(path: crashed)
            try await reference.advance(to: envelopes.count)
            _ = try await reference.processor.advance(to: Date(timeIntervalSince1970: Self.until))
            try await Self.expectSameState(final, reference.store, "after the last run")
            print("replay kill harness: \(landed) of \(Self.kills) kills landed; every prefix was whole")
        }
    }

    /// The state after `count` envelopes; or, when the kill landed between the timers a replay fires before the next
    /// envelope (or, after the last one, for `--until`) and that envelope, the state with those timers fired. Timers
    /// commit without the clock, which moves with the envelope (or the end of `--until`), so the clock is the one
    /// after `count` envelopes either way, except after a run that finished: then it is the end of `--until`.
    static func expectPrefixState(
        _ store: SQLiteHealthStore,
        reference: Prefix,
        count: Int,
        kill: Int
    ) async throws {
        if try await sameState(store, reference.store) { return }
        let next =
            count < reference.envelopes.count
            ? reference.envelopes[count].collectionTimestamp ?? Date(timeIntervalSince1970: until)
            : Date(timeIntervalSince1970: until)
        let withTimers = Prefix(envelopes: reference.envelopes, receipts: reference.receipts)
        try await withTimers.advance(to: count)
        _ = try await withTimers.processor.advance(to: next)
        // A run that applied the last envelope and finished `--until` before the kill (a long run gets there) moved
        // the clock to the end as well.
        if count == reference.envelopes.count, try await sameState(store, withTimers.store) { return }
        let clock = await reference.store.clock()
        try await expectSameState(store, withTimers.store, clock: clock, "kill \(kill): state after \(count) envelopes")
    }

    static func sameState(_ actual: any HealthStore, _ expected: any HealthStore) async throws -> Bool {
        let actual = try #require(actual as? any HealthStoreQueries)
        let expected = try #require(expected as? any HealthStoreQueries)
        guard try await actual.allCheckStates() == expected.allCheckStates(),
            try await actual.streams() == expected.streams(),
            try await actual.events(EventQuery()) == expected.events(EventQuery()),
            try await actual.clock() == expected.clock()
        else { return false }
        for summary in try await expected.streams() {
            guard try await actual.errors(of: summary.urn) == expected.errors(of: summary.urn),
                try await withoutVersions(actual.status(of: summary.urn))
                    == withoutVersions(expected.status(of: summary.urn))
            else { return false }
        }
        return true
    }

    /// `status` with every sub-stream record's version set to 0.
    static func withoutVersions(_ status: StreamStatus?) -> StreamStatus? {
        guard var status else { return nil }
        for index in status.subStreams.indices { status.subStreams[index].record.version = 0 }
        return status
    }

    static func expectSameState(
        _ actual: any HealthStore,
        _ expected: any HealthStore,
        clock: Date?? = nil,
        _ what: String
    ) async throws {
        let actual = try #require(actual as? any HealthStoreQueries)
        let expected = try #require(expected as? any HealthStoreQueries)
        #expect(try await actual.allCheckStates() == expected.allCheckStates(), "\(what): check states")
        #expect(try await actual.streams() == expected.streams(), "\(what): streams")
        #expect(try await actual.events(EventQuery()) == expected.events(EventQuery()), "\(what): events")
        var expectedClock = try await expected.clock()
        if let clock { expectedClock = clock }
        #expect(try await actual.clock() == expectedClock, "\(what): clock")
        for summary in try await expected.streams() {
            #expect(try await actual.errors(of: summary.urn) == expected.errors(of: summary.urn), "\(what): errors")
            #expect(
                try await withoutVersions(actual.status(of: summary.urn))
                    == withoutVersions(expected.status(of: summary.urn)), "\(what): status")
        }
    }
}

/// An in-memory replay of the first envelopes of a capture, as `Replayer` applies them (collection time, receipt).
actor Prefix {
    nonisolated let envelopes: [Envelope]
    nonisolated let receipts: [String]
    nonisolated let store = InMemoryHealthStore()
    nonisolated let processor: HealthProcessor
    private var applied = 0

    init(envelopes: [Envelope], receipts: [String]) {
        self.envelopes = envelopes
        self.receipts = receipts
        processor = HealthProcessor(store: store)
    }

    /// Applies envelopes until `count` are applied.
    func advance(to count: Int) async throws {
        while applied < count {
            let envelope = envelopes[applied]
            let clock = try await processor.clock()
            let time = envelope.collectionTimestamp ?? clock ?? Date(timeIntervalSince1970: 0)
            try await processor.apply(envelope, at: time, receipt: receipts[applied])
            applied += 1
        }
    }
}
