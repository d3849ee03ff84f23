import Foundation
import HTTPTypes
import HealthSync
import HealthSyncSQLite
import HealthSyncTesting
import Testing

/// The crash harness of Docs/reliability.md for `healthsync serve`: concurrent senders post envelopes to the built
/// executable on 127.0.0.1 while the harness kills it with SIGKILL at seeded random moments and starts it again on
/// the same database. After every kill, with the server down and every sender waiting, it checks that
///
/// - `PRAGMA integrity_check` and `PRAGMA foreign_key_check` are clean;
/// - every sender posts each envelope with an `Idempotency-Key` of its own, so the stored receipts tell exactly
///   which envelopes committed: those its sender got a 200 for, and the one in flight at the kill if and only if
///   its receipt is stored (committed, but the answer never arrived) — never one after it;
/// - every stream holds exactly the state of an in-memory run of those envelopes: every acknowledged envelope is
///   whole and nothing is half-applied (each envelope changes every check state it carries, in two sub-streams at
///   once, so a partial commit matches no run);
/// - the stored check-state counts agree with the check states.
///
/// Senders re-send the envelope they got no answer for, as an agent does, with the same key: if it committed before
/// the kill, the service answers 200 with `"alreadyApplied":true` and applies nothing. After the last start every
/// sender completes its round and one more, and the service stops gracefully; the result must equal the
/// uninterrupted runs of the same envelopes, each sent once, in memory and through a `serve` that is never killed:
/// check states, streams and their counts, open errors (none), open snapshots, and every event in order (times
/// aside): a re-send leaves no trace.
///
/// The same harness runs a second time with senders that post *without* an `Idempotency-Key` (REPEAT_SNAPSHOTS
/// senders only), which takes the intake's pipelined group commits instead of the receipt path. Nothing then tells
/// whether the envelope in flight at a kill committed, so after each kill a stream must hold the state after its
/// acknowledged envelopes or after one more; a re-send applies the same chunk of a snapshot again, which leaves the
/// same check states (but its own events and errors), so the end compares the check states of every stream with the
/// in-memory run of its acknowledged envelopes.
///
/// `HEALTHSYNC_SERVE_KILLS` sets the number of kills (default 20), `HEALTHSYNC_SERVE_KILL_SECONDS` bounds the time
/// spent killing (default 25 s; the first 8 kills are made regardless) and `HEALTHSYNC_SERVE_KILL_SEED` moves the kill
/// points (default 5).
@Suite(.serialized) struct ServeKillHarnessTests {
    static let environment = ProcessInfo.processInfo.environment
    static let kills = environment["HEALTHSYNC_SERVE_KILLS"].flatMap(Int.init) ?? 20
    static let seconds = environment["HEALTHSYNC_SERVE_KILL_SECONDS"].flatMap(Double.init) ?? 25
    static let seed = environment["HEALTHSYNC_SERVE_KILL_SEED"].flatMap(UInt64.init) ?? 5
    /// Kills made whatever the time bound: when the whole suite runs, other tests can hold both cores for seconds.
    static var minimumKills: Int { min(kills, 8) }

    /// Four senders of split snapshots (main and `agent` sub-streams in every envelope), two of increments.
    static let scripts: [SenderScript] =
        (0..<4).map { SenderScript(kind: .snapshots, urn: "urn:health:serve-kill:snapshots-\($0)") }
        + (0..<2).map { SenderScript(kind: .increments, urn: "urn:health:serve-kill:increments-\($0)") }

    /// Senders without `Idempotency-Key`s: snapshots only (a re-sent increment would break its checkpoint chain).
    static let unkeyedScripts: [SenderScript] =
        (0..<6).map { SenderScript(kind: .snapshots, urn: "urn:health:serve-kill:unkeyed-\($0)") }

    @Test(arguments: [true, false])
    func everyAcknowledgedEnvelopeIsWholeAfterEveryKillOfServe(keyed: Bool) async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        let scripts = keyed ? Self.scripts : Self.unkeyedScripts
        try await Workspace.with { workspace in
            let database = workspace.database
            let switchboard = Switchboard(urns: scripts.map(\.urn))
            let references = scripts.map(ReferenceStream.init)
            var generator = SeededRandom(seed: Self.seed)
            var report = KillReport()
            let arguments = ["--late-grace", "86400"]

            let outcomes = try await withThrowingTaskGroup(of: SenderOutcome.self) { group in
                for script in scripts {
                    group.addTask { await Self.send(script, keyed: keyed, switchboard: switchboard) }
                }
                do {
                    let started = ContinuousClock.now
                    for attempt in 0..<Self.kills
                    where attempt < Self.minimumKills || ContinuousClock.now - started < .seconds(Self.seconds) {
                        let log = workspace.directory.appendingPathComponent("serve-\(attempt).log")
                        let server = try await ServeProcess.start(
                            binary, database: database, log: log, arguments: arguments)
                        await switchboard.up(port: server.port)
                        try? await Task.sleep(for: .milliseconds(20 + Int(generator.next() % 700)))
                        await switchboard.down()
                        server.killNow()
                        report.kills += 1
                        await switchboard.waitUntilWaiting(scripts.count)
                        try await Self.checkAfterKill(
                            database, references: references, switchboard: switchboard, kill: attempt, keyed: keyed,
                            report: &report)
                    }
                    let log = workspace.directory.appendingPathComponent("serve-final.log")
                    let server = try await ServeProcess.start(
                        binary, database: database, log: log, arguments: arguments)
                    await switchboard.up(port: server.port, finishing: true)
                    var outcomes: [SenderOutcome] = []
                    for try await outcome in group { outcomes.append(outcome) }
                    #expect(await server.stop() == 0, "serve stops gracefully: \(server.logText)")
                    return outcomes
                } catch {
                    await switchboard.abort()
                    throw error
                }
            }

            let store = try SQLiteHealthStore(path: database)
            #expect(try await store.integrityCheck().isEmpty, "PRAGMA integrity_check at the end")
            for outcome in outcomes {
                #expect(outcome.unexpected.isEmpty, "\(outcome.urn): failures while the service was up")
                let reference = try #require(references.first { $0.script.urn == outcome.urn })
                if keyed {
                    try await Self.expectSameFinalState(store, reference: reference, count: outcome.acknowledged)
                } else {
                    let actual = try await Self.content(of: store)[outcome.urn] ?? []
                    let expected = try await reference.content(after: outcome.acknowledged)
                    #expect(
                        actual == expected,
                        "\(outcome.urn): check states at the end: \(Self.describe(actual, against: expected))")
                }
                report.acknowledged += outcome.acknowledged
                report.resent += outcome.resent
                report.alreadyApplied += outcome.alreadyApplied
            }

            guard keyed else {
                print(
                    "serve kill harness without Idempotency-Keys: \(report.kills) kills, \(report.acknowledged) "
                        + "envelopes acknowledged, \(report.resent) re-sent, \(report.committedUnanswered) committed "
                        + "but unanswered at a kill (counted where they differ)"
                )
                return
            }
            // The same envelopes, each posted once to a service that is never killed, end in the same state.
            let uninterrupted = workspace.directory.appendingPathComponent("uninterrupted.sqlite").path
            try await Self.runUninterrupted(
                binary, database: uninterrupted, outcomes: outcomes, arguments: arguments,
                log: workspace.directory.appendingPathComponent("serve-uninterrupted.log"))
            try await Self.expectSameState(store, try SQLiteHealthStore(path: uninterrupted))
            print(
                "serve kill harness: \(report.kills) kills, \(report.acknowledged) envelopes acknowledged, "
                    + "\(report.resent) re-sent, \(report.committedUnanswered) committed but unanswered at a kill, "
                    + "\(report.alreadyApplied) re-sends answered already applied; every acknowledged envelope whole, "
                    + "the end state equal to the uninterrupted run"
            )
        }
    }

    /// The checks after a kill, with the server down and every sender waiting.
    static func checkAfterKill(
        _ database: String,
        references: [ReferenceStream],
        switchboard: Switchboard,
        kill: Int,
        keyed: Bool,
        report: inout KillReport
    ) async throws {
        let store = try SQLiteHealthStore(path: database)
        #expect(try await store.integrityCheck().isEmpty, "kill \(kill): PRAGMA integrity_check")
        let stored = try await content(of: store)
        let summaries = try await store.streams()
        for reference in references {
            let urn = reference.script.urn
            let acknowledged = await switchboard.acknowledged(urn)
            let actual = stored[urn] ?? []
            let script = reference.script
            let count = summaries.first { $0.urn == urn }?.checkStateCount ?? 0
            #expect(count == actual.count, "kill \(kill): \(urn) counts \(count) check states, holds \(actual.count)")
            guard keyed else {
                // Without receipts, the envelope in flight may or may not have committed; nothing else may differ.
                let expected = try await reference.content(after: acknowledged)
                let expectedAfter = try await reference.content(after: acknowledged + 1)
                if actual == expectedAfter, actual != expected { report.committedUnanswered += 1 }
                #expect(
                    actual == expected || actual == expectedAfter,
                    """
                    kill \(kill): \(urn) holds neither the state after its \(acknowledged) acknowledged envelopes \
                    nor the one after the envelope in flight: \(describe(actual, against: expected))
                    """
                )
                continue
            }
            if acknowledged > 0 {
                #expect(
                    try await store.hasReceipt(receipt(script.idempotencyKey(acknowledged - 1))),
                    "kill \(kill): \(urn): the receipt of its last acknowledged envelope is stored")
            }
            #expect(
                try await !store.hasReceipt(receipt(script.idempotencyKey(acknowledged + 1))),
                "kill \(kill): \(urn): no receipt of an envelope after the one in flight")
            // The receipt commits with its envelope: it says whether the one in flight was applied.
            let inFlightCommitted = try await store.hasReceipt(receipt(script.idempotencyKey(acknowledged)))
            if inFlightCommitted { report.committedUnanswered += 1 }
            let committed = acknowledged + (inFlightCommitted ? 1 : 0)
            let expected = try await reference.content(after: acknowledged)
            let expectedAfter = try await reference.content(after: acknowledged + 1)
            #expect(
                actual == (inFlightCommitted ? expectedAfter : expected),
                """
                kill \(kill): \(urn) does not hold the state after its \(committed) committed envelopes \
                (\(acknowledged) acknowledged): \(describe(actual, against: inFlightCommitted ? expectedAfter : expected))
                """
            )
        }
    }

    /// The end state of one stream against the uninterrupted run of its `count` envelopes.
    static func expectSameFinalState(
        _ store: SQLiteHealthStore,
        reference: ReferenceStream,
        count: Int
    ) async throws {
        let urn = reference.script.urn
        let expected: any HealthStoreQueries = reference.store
        let actual = try await content(of: store)[urn] ?? []
        let expectedContent = try await reference.content(after: count)
        #expect(actual == expectedContent, "\(urn): check states at the end")
        let summary = try await store.streams().first { $0.urn == urn }
        let expectedSummary = try await expected.streams().first { $0.urn == urn }
        #expect(summary == expectedSummary, "\(urn): stream summary")
        #expect(
            try await store.errors(of: urn).map(\.key) == expected.errors(of: urn).map(\.key),
            "\(urn): open errors at the end")
        let shape = { (records: [SubStreamRecord]) in
            records.map { "\($0.key) open=\($0.openSnapshot != nil) \(String(describing: $0.checkpoint))" }
        }
        #expect(
            shape(try await store.subStreams(of: urn)) == shape(try await expected.subStreams(of: urn)),
            "\(urn): sub-streams at the end")
        #expect(
            try await history(of: urn, in: store) == history(of: urn, in: expected),
            "\(urn): events at the end (a re-sent envelope must leave none)")
    }

    /// The receipt the intake stores for an `Idempotency-Key` sent with ``ServeProcess/key`` (Docs/http.md): scoped
    /// to a digest of the API key.
    static func receipt(_ key: String) -> String { "http:\(PayloadFile.digest(ServeProcess.key.utf8)):\(key)" }

    /// The events of `urn` in order, without their times and sequence numbers.
    static func history(of urn: String, in store: any HealthStoreQueries) async throws -> [String] {
        try await store.events(EventQuery(urn: urn)).map { event in
            let state = event.checkState.map { "\($0.checkStateId) \($0.health) \($0.message ?? "")" } ?? ""
            return [
                event.kind.rawValue, event.subStreamId, state, event.previousHealth.map { "\($0)" } ?? "",
                event.deletionReason?.rawValue ?? "", event.errorCode?.rawValue ?? "", event.detail ?? "",
            ].joined(separator: "|")
        }
    }

    /// Posts every sender's acknowledged envelopes once, in order, senders concurrently, to a new `serve` on
    /// `database` that runs undisturbed, and stops it.
    static func runUninterrupted(
        _ binary: URL,
        database: String,
        outcomes: [SenderOutcome],
        arguments: [String],
        log: URL
    ) async throws {
        let server = try await ServeProcess.start(binary, database: database, log: log, arguments: arguments)
        let port = server.port
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for outcome in outcomes {
                    let script = try #require(scripts.first { $0.urn == outcome.urn })
                    group.addTask {
                        for index in 0..<outcome.acknowledged {
                            let answer = try await ServeProcess.post(
                                script.body(index), port: port, idempotencyKey: script.idempotencyKey(index))
                            #expect(answer.status == .ok, "uninterrupted \(script.urn) \(index): \(answer.body)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            server.killNow()
            throw error
        }
        #expect(await server.stop() == 0, "the uninterrupted serve stops gracefully: \(server.logText)")
    }

    /// The killed run's end state against the uninterrupted service's: check states, stream summaries, open errors,
    /// sub-streams.
    static func expectSameState(_ actual: SQLiteHealthStore, _ expected: SQLiteHealthStore) async throws {
        #expect(try await content(of: actual) == content(of: expected), "check states against the uninterrupted serve")
        #expect(try await actual.streams() == expected.streams(), "streams against the uninterrupted serve")
        for urn in scripts.map(\.urn) {
            #expect(
                try await actual.errors(of: urn).map(\.key) == expected.errors(of: urn).map(\.key),
                "\(urn): open errors against the uninterrupted serve")
            let shape = { (records: [SubStreamRecord]) in
                records.map { "\($0.key) open=\($0.openSnapshot != nil) \(String(describing: $0.checkpoint))" }
            }
            #expect(
                shape(try await actual.subStreams(of: urn)) == shape(try await expected.subStreams(of: urn)),
                "\(urn): sub-streams against the uninterrupted serve")
            #expect(
                try await history(of: urn, in: actual) == history(of: urn, in: expected),
                "\(urn): events against the uninterrupted serve")
        }
    }

    /// The check states of every stream, without the bookkeeping that depends on time and re-sends.
    static func content(of store: any HealthStoreQueries) async throws -> [String: Set<CheckStateContent>] {
        var content: [String: Set<CheckStateContent>] = [:]
        for state in try await store.allCheckStates() {
            content[state.key.urn, default: []].insert(CheckStateContent(key: state.key, checkState: state.checkState))
        }
        return content
    }

    static func describe(_ actual: Set<CheckStateContent>, against expected: Set<CheckStateContent>) -> String {
        let missing = expected.subtracting(actual).sorted().prefix(3)
        let extra = actual.subtracting(expected).sorted().prefix(3)
        return "missing \(Array(missing)), unexpected \(Array(extra))"
    }

    /// Posts the script's envelopes in order, each with its `Idempotency-Key` (when `keyed`) until it gets an answer,
    /// and re-sends the one a kill cut off (with the same key).
    static func send(_ script: SenderScript, keyed: Bool, switchboard: Switchboard) async -> SenderOutcome {
        var outcome = SenderOutcome(urn: script.urn)
        var stop: Int?
        while true {
            if stop == nil, await switchboard.isFinishing {
                stop = script.finishingCount(after: outcome.acknowledged)
            }
            if let stop, outcome.acknowledged >= stop { break }
            guard let (epoch, port) = await switchboard.connection() else { break }
            let failure: String
            do {
                let answer = try await ServeProcess.post(
                    script.body(outcome.acknowledged), port: port,
                    idempotencyKey: keyed ? script.idempotencyKey(outcome.acknowledged) : nil)
                if answer.status == .ok {
                    if answer.body.contains(#""alreadyApplied":true"#) { outcome.alreadyApplied += 1 }
                    outcome.acknowledged += 1
                    await switchboard.acknowledge(script.urn, outcome.acknowledged)
                    continue
                }
                failure = "envelope \(outcome.acknowledged): \(answer.status.code) \(answer.body)"
            } catch {
                guard await switchboard.failedDuringUptime(epoch: epoch) else {
                    outcome.resent += 1
                    continue
                }
                failure = "envelope \(outcome.acknowledged): \(error)"
            }
            outcome.unexpected.append(failure)
            try? await Task.sleep(for: .milliseconds(50))
        }
        return outcome
    }
}

/// Counts for the harness's closing line.
struct KillReport {
    var kills = 0
    var acknowledged = 0
    var resent = 0
    var committedUnanswered = 0
    var alreadyApplied = 0
}

/// What a sender did.
struct SenderOutcome: Sendable {
    var urn: String
    /// Envelopes answered with 200, the first ones of the script.
    var acknowledged = 0
    /// Posts that failed because the server was killed (each followed by a re-send).
    var resent = 0
    /// Re-sends answered `"alreadyApplied":true`: the envelope had committed before the kill.
    var alreadyApplied = 0
    /// Failures while the server was up: none are expected.
    var unexpected: [String] = []
}

/// A check state as a source sent it, with its sub-stream.
struct CheckStateContent: Hashable, Comparable, CustomStringConvertible {
    var key: StreamKey
    var checkState: CheckState

    var description: String {
        "\(key.subStreamId)/\(checkState.checkStateId) \(checkState.health) \(checkState.message ?? "")"
    }

    static func < (left: CheckStateContent, right: CheckStateContent) -> Bool {
        left.description < right.description
    }
}

/// The endless, deterministic sequence of envelopes one sender posts to its stream.
struct SenderScript: Sendable {
    enum Kind: Sendable {
        /// REPEAT_SNAPSHOTS: rounds of ``chunks`` envelopes, each carrying part of the round's snapshot of the main
        /// sub-stream and of the `agent` sub-stream; the first starts both snapshots, the last stops them.
        case snapshots
        /// TRANSACTIONAL_INCREMENTS: one chained checkpoint per envelope, an upsert and (from the 16th) a deletion.
        case increments
    }

    static let chunks = 4
    static let healths = ["CLEAR", "DEVIATING", "CRITICAL"]

    var kind: Kind
    var urn: String

    /// The body of envelope `index` (from 0).
    func body(_ index: Int) -> String {
        switch kind {
        case .snapshots:
            let round = index / Self.chunks
            let chunk = index % Self.chunks
            // About 41 of 48 check states per round; which ones leave (and come back) moves with the round.
            let ids = (0..<48).filter { ($0 + round) % 7 != 0 }
            let size = (ids.count + Self.chunks - 1) / Self.chunks
            let part = ids[min(chunk * size, ids.count)..<min((chunk + 1) * size, ids.count)]
            let state = { (prefix: String, id: Int) in
                Payload.checkState(
                    "\(prefix)-\(id)", health: Self.healths[(id + round) % 3], message: "round \(round)")
            }
            let start = chunk == 0
            let stop = chunk == Self.chunks - 1
            return Payload.envelope([
                Payload.snapshot(
                    urn, repeatInterval: 1800, start: start, stop: stop, states: part.map { state("check", $0) }),
                Payload.snapshot(
                    urn, subStream: "agent", repeatInterval: 1800, expiryInterval: 86_400, start: start, stop: stop,
                    states: part.filter { $0 % 2 == 0 }.map { state("agent-check", $0) }),
            ])
        case .increments:
            var states = [
                Payload.checkState(
                    "item-\(index % 30)", health: Self.healths[index % 3], message: "envelope \(index)")
            ]
            // Item (index + 15) % 30 was upserted by envelope index - 15 and not deleted since.
            if index >= 15 { states.append(Payload.deletion("item-\((index + 15) % 30)")) }
            return Payload.envelope([
                Payload.increment(
                    urn, checkpoint: Checkpoint(offset: Int64(index) + 1),
                    previous: index == 0 ? nil : Checkpoint(offset: Int64(index)), states: states)
            ])
        }
    }

    /// The `Idempotency-Key` of envelope `index`: one per envelope of the script, the same for its re-sends.
    func idempotencyKey(_ index: Int) -> String {
        "\(urn)#\(index)"
    }

    /// Where a sender told to finish stops, given what it has acknowledged: snapshots complete the current round
    /// and one more (a clean snapshot, which closes what re-sends raised); increments send two more.
    func finishingCount(after acknowledged: Int) -> Int {
        switch kind {
        case .snapshots: (acknowledged / Self.chunks + 2) * Self.chunks
        case .increments: acknowledged + 2
        }
    }
}

/// The uninterrupted run of one script by one process (in memory by default): the state after its first envelopes,
/// each applied once.
actor ReferenceStream {
    nonisolated let script: SenderScript
    nonisolated let store: any HealthStoreQueries
    private let processor: HealthProcessor
    private var applied = 0
    private var cache: [Int: Set<CheckStateContent>] = [:]

    init(script: SenderScript) {
        self.init(script: script, store: InMemoryHealthStore())
    }

    init(script: SenderScript, store: any HealthStoreQueries) {
        self.script = script
        self.store = store
        processor = HealthProcessor(store: store)
    }

    /// The check states of the stream after its first `count` envelopes; `count` may not go below an earlier one
    /// by more than the cache keeps (the harness only asks for the acknowledged count and one more).
    func content(after count: Int) async throws -> Set<CheckStateContent> {
        if let cached = cache[count] { return cached }
        precondition(count >= applied, "the reference only moves forward")
        while applied < count {
            let envelope = try EnvelopeDecoder().decode(Array(script.body(applied).utf8))
            try await processor.apply(envelope, at: Date(timeIntervalSince1970: 1_700_000_000 + Double(applied)))
            applied += 1
        }
        let content = try await ServeKillHarnessTests.content(of: store)[script.urn] ?? []
        cache = cache.filter { $0.key >= count - 1 }
        cache[count] = content
        return content
    }
}

/// Tells the senders where the server is, parks them while it is down, and keeps what each got acknowledged.
actor Switchboard {
    private var epoch = 0
    private var port: Int?
    private var aborted = false
    private var finishing = false
    private var parked: [CheckedContinuation<Void, Never>] = []
    private var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var acknowledgements: [String: Int]

    init(urns: [String]) {
        acknowledgements = Dictionary(uniqueKeysWithValues: urns.map { ($0, 0) })
    }

    /// Whether the senders are to finish (set with the last start).
    var isFinishing: Bool { finishing }

    /// The server listens on `port`: the waiting senders go on.
    func up(port: Int, finishing: Bool = false) {
        epoch += 1
        self.port = port
        self.finishing = finishing
        let waiting = parked
        parked = []
        for sender in waiting { sender.resume() }
    }

    /// The server is about to be killed: from now on a failed post is the kill's doing.
    func down() { port = nil }

    /// Releases every sender for good (the harness failed).
    func abort() {
        aborted = true
        port = nil
        let waiting = parked
        parked = []
        for sender in waiting { sender.resume() }
    }

    /// The server's epoch and port; waits while it is down. `nil` once aborted.
    func connection() async -> (epoch: Int, port: Int)? {
        while !aborted {
            if let port { return (epoch, port) }
            await park()
        }
        return nil
    }

    /// A post in `epoch` failed. Returns `true` if the server was up then and still is (a real failure); else waits
    /// until the server is up again, if it is not yet, and returns `false` (re-send).
    func failedDuringUptime(epoch failed: Int) async -> Bool {
        if failed == epoch, port != nil { return true }
        if port == nil, !aborted { await park() }
        return false
    }

    /// Waits until `count` senders wait for the server.
    func waitUntilWaiting(_ count: Int) async {
        guard parked.count < count, !aborted else { return }
        await withCheckedContinuation { watchers.append((count, $0)) }
    }

    /// Records that `urn`'s sender got `count` envelopes acknowledged.
    func acknowledge(_ urn: String, _ count: Int) { acknowledgements[urn] = count }

    /// The envelopes `urn`'s sender got acknowledged.
    func acknowledged(_ urn: String) -> Int { acknowledgements[urn] ?? 0 }

    private func park() async {
        await withCheckedContinuation { continuation in
            parked.append(continuation)
            let ready = watchers.filter { parked.count >= $0.count }
            watchers.removeAll { parked.count >= $0.count }
            for watcher in ready { watcher.continuation.resume() }
        }
    }
}
