import Foundation
import HTTPTypes
import HealthSync
import HealthSyncPostgres
import HealthSyncSQLite
import HealthSyncTestSupport
import HealthSyncTesting
import Logging
import Testing

/// Several `healthsync serve` processes on one PostgreSQL database, as replicas behind a load balancer: a client
/// spreads every stream's envelopes over the replicas, one replica is killed mid-load and started again, and the end
/// state must be what one process makes of the same envelopes.
///
/// - Six senders post their scripts (split REPEAT_SNAPSHOTS rounds and chained TRANSACTIONAL_INCREMENTS, as in the
///   serve kill harness), each envelope to the next replica, with an `Idempotency-Key`; an envelope that gets no
///   answer (its replica was killed) or a 503 goes to another replica with the same key. Each stream ends with the
///   check states and the very events of one process replaying its envelopes into an SQLite file, each applied once: a retry that another
///   replica answers leaves no trace, because the keys live in the shared database.
/// - Thirty envelopes of one REPEAT_STATES stream, each with a check state of its own, are posted all at once, ten to
///   each replica: none is lost and each is recorded once.
/// - A snapshot that is started and never stopped, with a one-second repeat interval, falls due while every replica
///   sweeps (each intake wakes its sweeper): its late-data error and its automatic stop are recorded exactly once.
@Suite(.enabled(if: PostgresTestDatabase.isEnabled, PostgresTestDatabase.skipReason), .serialized)
struct MultiReplicaTests {
    static let replicaCount = 3
    static let envelopesPerScript = 24
    static let scripts: [SenderScript] =
        (0..<4).map { SenderScript(kind: .snapshots, urn: "urn:health:replicas:snapshots-\($0)") }
        + (0..<2).map { SenderScript(kind: .increments, urn: "urn:health:replicas:increments-\($0)") }
    static let concurrentURN = "urn:health:replicas:concurrent"
    static let concurrentCount = 30
    static let timerURN = "urn:health:replicas:timer"

    /// The ports of the replicas that are up, by slot, and how many envelopes were acknowledged.
    actor Replicas {
        private var ports: [Int?]
        private(set) var delivered = 0

        init(_ ports: [Int]) { self.ports = ports }

        /// The port of slot `index` modulo the number of slots, `nil` while that replica is down.
        func port(_ index: Int) -> Int? { ports[index % ports.count] }

        func set(_ slot: Int, _ port: Int?) { ports[slot] = port }

        func acknowledged() { delivered += 1 }
    }

    /// Posts `body` with `key` to replica `first`, then to the next ones, until one answers 200; gives up after a
    /// minute.
    static func deliver(_ body: String, key: String, replicas: Replicas, first: Int) async throws {
        let started = ContinuousClock.now
        var attempt = 0
        while ContinuousClock.now - started < .seconds(60) {
            if let port = await replicas.port(first + attempt),
                let answer = try? await ServeProcess.post(body, port: port, idempotencyKey: key),
                answer.status == .ok
            {
                await replicas.acknowledged()
                return
            }
            attempt += 1
            if attempt % Self.replicaCount == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        Issue.record("\(key): no replica applied it within a minute")
    }

    @Test func threeReplicasOnOneDatabaseEndInTheStateOfOneProcess() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            try await PostgresTestDatabase.withDatabase { url in
                var servers: [ServeProcess] = []
                for slot in 0..<Self.replicaCount {
                    let log = workspace.directory.appendingPathComponent("replica-\(slot).log")
                    servers.append(try await ServeProcess.start(binary, database: url, log: log))
                }
                let replicas = Replicas(servers.map(\.port))
                defer { for server in servers where server.process.isRunning { server.killNow() } }

                let timer = Payload.envelope([
                    Payload.snapshot(
                        Self.timerURN, repeatInterval: 1, stop: false, states: [Payload.checkState("held")])
                ])
                try await Self.deliver(timer, key: "timer", replicas: replicas, first: 0)

                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (number, script) in Self.scripts.enumerated() {
                        group.addTask {
                            for index in 0..<Self.envelopesPerScript {
                                try await Self.deliver(
                                    script.body(index), key: script.idempotencyKey(index), replicas: replicas,
                                    first: number + index)
                            }
                        }
                    }
                    for index in 0..<Self.concurrentCount {
                        group.addTask {
                            let body = Payload.envelope([
                                Payload.repeatStates(
                                    Self.concurrentURN, repeatInterval: 1800, expiryInterval: 86_400,
                                    states: [Payload.checkState("check-\(index)")])
                            ])
                            try await Self.deliver(
                                body, key: "concurrent-\(index)", replicas: replicas, first: index)
                        }
                    }
                    // Mid-load (a third of the envelopes acknowledged), replica 1 is killed without warning, and
                    // started again a moment later.
                    let total = 1 + Self.scripts.count * Self.envelopesPerScript + Self.concurrentCount
                    while await replicas.delivered < total / 3 { try await Task.sleep(for: .milliseconds(5)) }
                    servers[1].killNow()
                    let deliveredAtKill = await replicas.delivered
                    #expect(deliveredAtKill < total * 2 / 3, "the kill comes mid-load: \(deliveredAtKill) of \(total)")
                    await replicas.set(1, nil)
                    try await Task.sleep(for: .milliseconds(500))
                    let log = workspace.directory.appendingPathComponent("replica-1-again.log")
                    servers[1] = try await ServeProcess.start(binary, database: url, log: log)
                    await replicas.set(1, servers[1].port)
                    try await group.waitForAll()
                    #expect(await replicas.delivered == total)
                }

                let store = try PostgresHealthStore(
                    configuration: PostgresDatabaseURL(url).configuration, logger: PostgresTestDatabase.logger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await store.run() }
                    try await Self.expectTimerFiredOnce(in: store)
                    for server in servers {
                        #expect(await server.stop() == 0, "a replica stops gracefully: \(server.logText)")
                    }
                    try await Self.expectOneProcessState(in: store)
                    group.cancelAll()
                }
            }
        }
    }

    /// Waits until the held snapshot was stopped automatically (two repeat intervals after it started), then checks
    /// that its timers fired once.
    static func expectTimerFiredOnce(in store: PostgresHealthStore) async throws {
        var events: [HealthEvent] = []
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(30) {
            events = try await store.events(EventQuery(urn: Self.timerURN))
            if events.contains(where: { $0.kind == .snapshotAutoStopped }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let count = { (kind: HealthEvent.Kind, code: String?) in
            events.filter { $0.kind == kind && (code == nil || $0.errorCode?.rawValue == code) }.count
        }
        #expect(count(.snapshotAutoStopped, nil) == 1, "\(events.map(\.kind))")
        #expect(count(.errorOpened, "SubStreamLateData") == 1, "\(events.map(\.kind))")
        #expect(count(.errorOpened, "SubStreamMissingStop") == 1, "\(events.map(\.kind))")
    }

    /// Every stream as one process replaying its envelopes into an SQLite file leaves it: the same check states and
    /// the very same events, each envelope applied once.
    static func expectOneProcessState(in store: PostgresHealthStore) async throws {
        let content = try await ServeKillHarnessTests.content(of: store)
        try await withTemporaryDirectory { directory in
            let replayed = try SQLiteHealthStore(path: temporaryFile(in: directory, named: "replay.sqlite"))
            for script in Self.scripts {
                let reference = ReferenceStream(script: script, store: replayed)
                let expected = try await reference.content(after: Self.envelopesPerScript)
                #expect(content[script.urn] == expected, "\(script.urn): check states")
                #expect(
                    try await ServeKillHarnessTests.history(of: script.urn, in: store)
                        == ServeKillHarnessTests.history(of: script.urn, in: replayed),
                    "\(script.urn): events (each envelope applied once)")
            }
        }
        let concurrent = Set((content[Self.concurrentURN] ?? []).map(\.checkState.checkStateId))
        #expect(concurrent == Set((0..<Self.concurrentCount).map { "check-\($0)" }))
        let created = try await store.events(EventQuery(urn: Self.concurrentURN)).filter {
            $0.kind == .checkStateCreated
        }
        #expect(created.count == Self.concurrentCount, "each concurrent envelope recorded once")
    }
}
