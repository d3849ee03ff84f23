import BenchmarkSupport
import Foundation
import HealthSync
import HealthSyncSQLite
import HealthSyncTesting

// healthsync-load: workloads that the benchmark plugin does not fit.
//
//   healthsync-load sqlite --db PATH [--streams 1000] [--rounds 10] [--batch 1] [--model snapshots|states|increments]
//                          [--cache 20000] [--pipeline off|on]
//       Workload 3 through HealthProcessor into SQLiteHealthStore(path:) — the same rounds as
//       Baseline/sqlite_baseline.c — and prints one RESULT line per phase (round 0 creates every check state; the
//       later rounds are the steady state), the database size and the context cache's figures (`--cache` is its
//       capacity; 0 turns it off). `--pipeline on` applies each envelope with stage(batch:) and complete(_:), still
//       one transaction per envelope, processing the next envelope while the previous one commits.
//   healthsync-load capture --out FILE [--megabytes 1024] [--streams 1000] [--per-envelope 10]
//       A JSON Lines capture of churn rounds for `healthsync replay` (workload 5).
//   healthsync-load bodies --out DIR --check-states N [--count 64] [--variants 1]
//       Intake envelopes for a load generator against `healthsync serve` (workload 5, `serve-load.sh`):
//       DIR/body-N-I.json, one whole snapshot of N check states of stream I each; with V variants, V × count
//       bodies, body I of stream I % count, whose health values differ from variant to variant (`--churn`).

struct Options {
    var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) throws {
        var iterator = arguments.makeIterator()
        while let name = iterator.next() {
            guard name.hasPrefix("--"), let value = iterator.next() else { throw Failure("expected --name value") }
            values[String(name.dropFirst(2))] = value
        }
    }

    func int(_ name: String, _ fallback: Int, minimum: Int = 1) throws -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text), value >= minimum else {
            throw Failure("--\(name) takes an integer of at least \(minimum)")
        }
        return value
    }

    func string(_ name: String) throws -> String {
        guard let value = values[name] else { throw Failure("--\(name) is required") }
        return value
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func result(_ phase: String, _ states: Int, _ seconds: Double, _ counts: ChangeCounts, _ events: Int) {
    print(
        "RESULT impl=swift phase=\(phase) states=\(states) seconds=\(String(format: "%.3f", seconds)) "
            + "states_per_s=\(Rates.perSecond(states, seconds)) created=\(counts.created) updated=\(counts.updated) "
            + "deleted=\(counts.deleted) events=\(events)"
    )
}

func runSQLite(_ options: Options) async throws {
    let path = try options.string("db")
    let streams = try options.int("streams", 1_000)
    let rounds = try options.int("rounds", 10, minimum: 0)
    let batch = try options.int("batch", 1)
    let model: ConsistencyModel
    switch options.values["model"] ?? "snapshots" {
    case "snapshots": model = .repeatSnapshots
    case "states": model = .repeatStates
    case "increments": model = .transactionalIncrements
    default: throw Failure("--model is snapshots, states or increments")
    }
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    let cache = try options.int("cache", SQLiteHealthStore.defaultContextCacheCapacity, minimum: 0)
    let store = try SQLiteHealthStore(path: path, contextCacheCapacity: cache)
    let pipelined: Bool
    switch options.values["pipeline"] ?? "off" {
    case "off": pipelined = false
    case "on": pipelined = true
    default: throw Failure("--pipeline is on or off")
    }
    let fleet = Fleet(streams: streams, model: model, batch: batch, pipelined: pipelined, store: store)

    var phaseStates = 0
    var phaseCounts = ChangeCounts()
    var phaseSeconds = 0.0
    for round in 0...rounds {
        let generated = await fleet.nextRound()
        let (counts, seconds) = try await Rates.timed { try await fleet.apply(generated) }
        guard counts.created == generated.created, counts.updated == generated.updated,
            counts.deleted == generated.deleted
        else {
            throw Failure("round \(round): the processor counted \(counts), the workload expected \(generated)")
        }
        phaseStates += generated.checkStates
        phaseCounts += counts
        phaseSeconds += seconds
        if round == 0 || round == rounds {
            let snapshotEvents = model == .repeatSnapshots ? 2 * streams * (round == 0 ? 1 : rounds) : 0
            let creationEvents = round == 0 ? 2 * streams : 0
            let events =
                phaseCounts.created + phaseCounts.updated + phaseCounts.deleted + snapshotEvents + creationEvents
            result(round == 0 ? "ingest" : "steady", phaseStates, phaseSeconds, phaseCounts, events)
            phaseStates = 0
            phaseCounts = ChangeCounts()
            phaseSeconds = 0
        }
    }
    let size = [path, path + "-wal"].reduce(0) { total, file in
        total + (((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0)
    }
    print("RESULT impl=swift phase=size database_bytes=\(size)")
    if let statistics = store.contextCacheStatistics {
        print(
            "RESULT impl=swift phase=cache capacity=\(statistics.capacity) held=\(statistics.size) "
                + "hits=\(statistics.hits) misses=\(statistics.misses)")
    }
}

func runCapture(_ options: Options) throws {
    let path = try options.string("out")
    let limit = try options.int("megabytes", 1_024) * 1_000_000
    let streams = try options.int("streams", 1_000)
    let perEnvelope = try options.int("per-envelope", 10)
    guard FileManager.default.createFile(atPath: path, contents: nil) else { throw Failure("cannot create \(path)") }
    guard let handle = FileHandle(forWritingAtPath: path) else { throw Failure("cannot write \(path)") }
    defer { try? handle.close() }
    var workload = ChurnWorkload(streams: streams)
    var written = 0
    var envelopes = 0
    var states = 0
    while written < limit {
        let round = workload.nextRound()
        var start = 0
        var chunk = ""
        while start < round.messages.count {
            let end = min(start + perEnvelope, round.messages.count)
            let messages = round.messages[start..<end].map(PayloadText.json)
            chunk += Payload.envelope(at: round.time.timeIntervalSince1970, messages) + "\n"
            envelopes += 1
            start = end
        }
        states += round.checkStates
        let data = Data(chunk.utf8)
        try handle.write(contentsOf: data)
        written += data.count
    }
    print("RESULT impl=capture bytes=\(written) envelopes=\(envelopes) check_states=\(states) rounds=\(workload.round)")
}

func runBodies(_ options: Options) throws {
    let directory = try options.string("out")
    let count = try options.int("count", 64)
    let checkStates = try options.int("check-states", 100)
    let variants = try options.int("variants", 1)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for variant in 0..<variants {
        for stream in 0..<count {
            // Variant 0: every tenth check state deviating. Each later variant also turns a tenth of them critical,
            // a different tenth each, so that consecutive snapshots of a stream differ in about a fifth.
            let states = (0..<checkStates).map { slot in
                let health: Health =
                    variant > 0 && (slot + 3 * variant) % 10 == 5 ? .critical : slot % 10 == 0 ? .deviating : .clear
                return CheckStateInput.upsert(ChurnWorkload.checkState(stream: stream, slot: slot, health: health))
            }
            let message = HealthMessage(
                stream: StreamKey(urn: ChurnWorkload.urn(stream)), startSnapshot: Intervals(repeatInterval: 60),
                stopSnapshot: true, checkStates: states
            )
            let body = Payload.envelope(at: nil, [PayloadText.json(message)])
            let path = "\(directory)/body-\(checkStates)-\(variant * count + stream).json"
            guard FileManager.default.createFile(atPath: path, contents: Data(body.utf8)) else {
                throw Failure("cannot write \(path)")
            }
        }
    }
}

let arguments = CommandLine.arguments.dropFirst()
do {
    switch arguments.first {
    case "sqlite": try await runSQLite(Options(arguments.dropFirst()))
    case "capture": try runCapture(Options(arguments.dropFirst()))
    case "bodies": try runBodies(Options(arguments.dropFirst()))
    default: throw Failure("usage: healthsync-load sqlite|capture|bodies --name value ...")
    }
} catch {
    FileHandle.standardError.write(Data("healthsync-load: \(error)\n".utf8))
    exit(1)
}
