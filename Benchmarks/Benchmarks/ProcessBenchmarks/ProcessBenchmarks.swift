import Benchmark
import BenchmarkSupport
import Foundation
import HealthSync

/// Workload 2: processing into the in-memory store — streams × about 100 check states, one envelope per stream and
/// round, 10 % churn per round — for each consistency model; and workload 4 on the in-memory store, whose
/// `dueSubStreams` scans (the SQLite sweep is in `SQLiteBenchmarks`).
let benchmarks: @Sendable () -> Void = {
    let statesPerSecond = BenchmarkMetric.custom("check states/s", polarity: .prefersLarger, useScalingFactor: false)
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal, statesPerSecond],
        warmupIterations: 1, maxDuration: .seconds(20), maxIterations: 10
    )
    let models: [(String, ConsistencyModel)] = [
        ("REPEAT_SNAPSHOTS", .repeatSnapshots), ("REPEAT_STATES", .repeatStates),
        ("TRANSACTIONAL_INCREMENTS", .transactionalIncrements),
    ]
    for (name, model) in models {
        for streams in [100, 1_000] {
            let fleet = Fleet(streams: streams, model: model, store: InMemoryHealthStore())
            Benchmark("In memory, \(name), \(streams) streams × 100, one round", configuration: configuration) {
                benchmark in
                do {
                    let round = await fleet.nextRound()
                    benchmark.startMeasurement()
                    let (_, seconds) = try await Rates.timed { try await fleet.apply(round) }
                    benchmark.stopMeasurement()
                    benchmark.measurement(statesPerSecond, Rates.perSecond(round.checkStates, seconds))
                } catch {
                    benchmark.error("processing failed: \(error)")
                }
            } setup: {
                try await fleet.applyNextRound()
            }
        }
    }

    let sweepConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal], warmupIterations: 1, maxDuration: .seconds(10), maxIterations: 20
    )
    for (subStreams, groups) in [(10_000, 100), (10_000, 10), (100_000, 100)] {
        let sweeps = Sweeps(SweepWorkload(subStreams: subStreams, groups: groups), store: InMemoryHealthStore())
        Benchmark(
            "In memory, sweep of \(subStreams) sub-streams, \(subStreams / groups) due",
            configuration: sweepConfiguration
        ) { benchmark in
            do {
                let fired = try await sweeps.next()
                if fired != subStreams / groups { benchmark.error("\(fired) timers fired") }
            } catch {
                benchmark.error("sweep failed: \(error)")
            }
        } setup: {
            try await sweeps.populate()
        }
    }
}
