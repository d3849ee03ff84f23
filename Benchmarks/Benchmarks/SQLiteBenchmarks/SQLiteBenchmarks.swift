import Benchmark
import BenchmarkSupport
import Foundation
import HealthSync
import HealthSyncSQLite

/// Workload 3: processing into the default SQLite store (a file, WAL, `synchronous = FULL`): 1,000 streams × about
/// 100 check states with 10 % churn per round, one transaction per envelope of one message, and envelopes batching
/// 10 and 100 messages; and workload 4: sweeps of 10,000 and 100,000 sub-streams with 1 % or 10 % due.
///
/// The database lives under `$HEALTHSYNC_BENCH_DIR` (default: the temporary directory), which should be on the disk
/// a deployment would use.
let benchmarks: @Sendable () -> Void = {
    let statesPerSecond = BenchmarkMetric.custom("check states/s", polarity: .prefersLarger, useScalingFactor: false)
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal, statesPerSecond],
        warmupIterations: 1, maxDuration: .seconds(30), maxIterations: 8
    )
    for batch in [1, 10, 100] {
        let name = "SQLite, REPEAT_SNAPSHOTS, 1000 streams × 100, \(batch) message(s) per envelope, one round"
        let holder = Holder()
        Benchmark(name, configuration: configuration) { benchmark in
            do {
                guard let fleet = await holder.fleet else { return }
                let round = await fleet.nextRound()
                benchmark.startMeasurement()
                let (_, seconds) = try await Rates.timed { try await fleet.apply(round) }
                benchmark.stopMeasurement()
                benchmark.measurement(statesPerSecond, Rates.perSecond(round.checkStates, seconds))
            } catch {
                benchmark.error("processing failed: \(error)")
            }
        } setup: {
            let directory = try ScratchDirectory("bench")
            let store = try SQLiteHealthStore(path: directory.file("health.sqlite"))
            let fleet = Fleet(streams: 1_000, batch: batch, store: store)
            try await fleet.applyNextRound()
            await holder.set(fleet, directory)
        } teardown: {
            await holder.clear()
        }
    }

    let sweepConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal], warmupIterations: 1, maxDuration: .seconds(10),
        maxIterations: 30
    )
    for (subStreams, groups) in [(10_000, 100), (10_000, 10), (100_000, 100)] {
        let holder = Holder()
        Benchmark(
            "SQLite, sweep of \(subStreams) sub-streams, \(subStreams / groups) due", configuration: sweepConfiguration
        ) { benchmark in
            do {
                guard let sweeps = await holder.sweeps else { return }
                let fired = try await sweeps.next()
                if fired != subStreams / groups { benchmark.error("\(fired) timers fired") }
            } catch {
                benchmark.error("sweep failed: \(error)")
            }
        } setup: {
            let directory = try ScratchDirectory("sweep")
            let store = try SQLiteHealthStore(path: directory.file("health.sqlite"))
            let sweeps = Sweeps(SweepWorkload(subStreams: subStreams, groups: groups), store: store)
            try await sweeps.populate()
            await holder.set(sweeps, directory)
        } teardown: {
            await holder.clear()
        }
    }

    // Issue 13: the next envelope after a large one (10,000 to 100,000 check states, in any id order), and after an
    // empty snapshot that deletes them all, with the default context cache and without one. Only the next envelope
    // is measured: its time should not grow with the large envelope's size.
    let nextConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal], warmupIterations: 0, maxDuration: .seconds(20), maxIterations: 5
    )
    for checkStates in [10_000, 40_000, 100_000] {
        for cache in [SQLiteHealthStore.defaultContextCacheCapacity, 0] {
            let cacheName = cache == 0 ? "no cache" : "cache \(cache)"
            var workloads = CheckStateIdOrder.allCases.map {
                LargeEnvelopeWorkload(checkStates: checkStates, order: $0, contextCacheCapacity: cache)
            }
            workloads.append(
                LargeEnvelopeWorkload(
                    checkStates: checkStates, order: .shuffled, contextCacheCapacity: cache, deleteAll: true))
            for workload in workloads {
                let what = workload.deleteAll ? "after deleting" : "after"
                Benchmark(
                    "SQLite, next envelope \(what) \(checkStates) check states (\(workload.order.rawValue) ids), \(cacheName)",
                    configuration: nextConfiguration
                ) { benchmark in
                    do {
                        let directory = try ScratchDirectory("next")
                        defer { directory.remove() }
                        let processor = try await workload.prepare(in: directory)
                        benchmark.startMeasurement()
                        try await workload.next(processor)
                        benchmark.stopMeasurement()
                    } catch {
                        benchmark.error("processing failed: \(error)")
                    }
                }
            }
        }
    }
}

/// What a benchmark's setup creates for its iterations, and removes in teardown.
actor Holder {
    var fleet: Fleet?
    var sweeps: Sweeps?
    var directory: ScratchDirectory?

    func set(_ fleet: Fleet, _ directory: ScratchDirectory) {
        self.fleet = fleet
        self.directory = directory
    }

    func set(_ sweeps: Sweeps, _ directory: ScratchDirectory) {
        self.sweeps = sweeps
        self.directory = directory
    }

    func clear() {
        fleet = nil
        sweeps = nil
        directory?.remove()
        directory = nil
    }
}
