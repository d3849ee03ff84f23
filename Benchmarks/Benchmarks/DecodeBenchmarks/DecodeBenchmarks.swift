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
        // Foundation's JSONDecoder on the same bytes into plain Codable structs, with no validation, no positions in
        // errors and no fast path: the reference that keeps the hand-written parser's reason measured.
        Benchmark(
            "Foundation JSONDecoder, envelope of \(count) check states (\(body.count) bytes)",
            configuration: .init(
                metrics: [.wallClock, .mallocCountTotal, bytesPerSecond, statesPerSecond],
                maxDuration: .seconds(5), maxIterations: 50
            )
        ) { benchmark in
            let decoder = JSONDecoder()
            let data = Data(body)
            let clock = ContinuousClock()
            let start = clock.now
            for _ in 0..<repeats {
                do {
                    blackHole(try decoder.decode(FoundationEnvelope.self, from: data))
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

/// The envelope as Codable structs, for the JSONDecoder reference row: the fields the engine reads, nothing checked.
struct FoundationEnvelope: Decodable {
    struct Message: Decodable {
        struct Stream: Decodable {
            var urn: String
            var sub_stream_id: String?
        }
        struct Intervals: Decodable {
            var repeat_interval_s: Int
            var expiry_interval_s: Int?
        }
        struct CheckState: Decodable {
            var checkStateId: String
            var name: String
            var health: String
            var topologyElementIdentifier: String
            var message: String?
        }
        var stream: Stream
        var consistency_model: String?
        var start_snapshot: Intervals?
        var check_states: [CheckState]?
    }
    var collection_timestamp: Double?
    var internalHostname: String?
    var health: [Message]
}
