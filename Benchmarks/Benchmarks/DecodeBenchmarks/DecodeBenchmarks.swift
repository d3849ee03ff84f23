import Benchmark
import BenchmarkSupport
import Foundation
import HealthSync

/// Workload 1: decoding intake envelopes of 1, 100 and 1,000 check states of about 240 bytes each.
let benchmarks: @Sendable () -> Void = {
    let bytesPerSecond = BenchmarkMetric.custom("bytes/s", polarity: .prefersLarger, useScalingFactor: false)
    let statesPerSecond = BenchmarkMetric.custom("check states/s", polarity: .prefersLarger, useScalingFactor: false)
    for count in [1, 100, 1_000] {
        let body = PayloadText.decodeEnvelope(checkStates: count)
        // Enough decodes per iteration to cover about 2 MB, so that one iteration is not dominated by the timer.
        let repeats = max(1, 2_000_000 / body.count)
        Benchmark(
            "Decode envelope of \(count) check states (\(body.count) bytes)",
            configuration: .init(
                metrics: [.wallClock, .mallocCountTotal, bytesPerSecond, statesPerSecond],
                maxDuration: .seconds(5), maxIterations: 50
            )
        ) { benchmark in
            let decoder = EnvelopeDecoder()
            let clock = ContinuousClock()
            let start = clock.now
            for _ in 0..<repeats {
                do {
                    blackHole(try decoder.decode(body))
                } catch {
                    benchmark.error("decoding failed: \(error)")
                }
            }
            let seconds = Rates.seconds(clock.now - start)
            benchmark.measurement(bytesPerSecond, Rates.perSecond(repeats * body.count, seconds))
            benchmark.measurement(statesPerSecond, Rates.perSecond(repeats * count, seconds))
        }
    }
}
