import Benchmark
import BenchmarkSupport
import Foundation
import HealthSync

/// Workload 1: decoding intake envelopes of 1, 100 and 1,000 check states of about 240 bytes each.
let benchmarks: @Sendable () -> Void = {
    for count in [1, 100, 1_000] {
        let body = PayloadText.decodeEnvelope(checkStates: count)
        decodeBenchmark("Decode envelope of \(count) check states (\(body.count) bytes)", body, count) {
            let decoder = EnvelopeDecoder()
            return { try decoder.decode(body) }
        }
        // Foundation's JSONDecoder on the same bytes into plain Codable structs, with no validation, no positions in
        // errors and no fast path: the reference that keeps the hand-written parser's reason measured.
        decodeBenchmark("Foundation JSONDecoder, envelope of \(count) check states (\(body.count) bytes)", body, count) {
            let decoder = JSONDecoder()
            let data = Data(body)
            return { try decoder.decode(FoundationEnvelope.self, from: data) }
        }
    }
}

/// One decode benchmark: enough decodes per iteration to cover about 2 MB, so that one iteration is not dominated by
/// the timer, reported as bytes and check states per second. `makeDecode` runs once per iteration, outside the timing.
func decodeBenchmark(
    _ name: String, _ body: [UInt8], _ count: Int, makeDecode: @escaping @Sendable () -> () throws -> Any
) {
    let bytesPerSecond = BenchmarkMetric.custom("bytes/s", polarity: .prefersLarger, useScalingFactor: false)
    let statesPerSecond = BenchmarkMetric.custom("check states/s", polarity: .prefersLarger, useScalingFactor: false)
    let repeats = max(1, 2_000_000 / body.count)
    Benchmark(
        name,
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, bytesPerSecond, statesPerSecond],
            maxDuration: .seconds(5), maxIterations: 50
        )
    ) { benchmark in
        let decode = makeDecode()
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<repeats {
            do {
                blackHole(try decode())
            } catch {
                benchmark.error("decoding failed: \(error)")
            }
        }
        let seconds = Rates.seconds(clock.now - start)
        benchmark.measurement(bytesPerSecond, Rates.perSecond(repeats * body.count, seconds))
        benchmark.measurement(statesPerSecond, Rates.perSecond(repeats * count, seconds))
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
