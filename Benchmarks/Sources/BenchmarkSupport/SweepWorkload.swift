import Foundation
import HealthSync

/// Many sub-streams whose late-data deadlines are spread so that each sweep finds a fixed share of them due.
///
/// Sub-stream `i` belongs to stream `i / perStream` and to group `i % groups`; group `g` completes one snapshot at
/// `start + g × step` with `step = repeatInterval / groups`, so its late-data deadline is
/// `start + repeatInterval + g × step`, and after it fires the next one is one repeat interval later. Sweep `k`
/// advances the clock to the middle of the `k`-th step and so fires exactly one group: `1 / groups` of the
/// sub-streams, forever.
public struct SweepWorkload: Sendable {
    /// How many sub-streams.
    public let subStreams: Int
    /// Sub-streams per stream.
    public let perStream: Int
    /// How many groups; each sweep fires one.
    public let groups: Int
    /// The repeat interval of every sub-stream.
    public let repeatInterval = 600
    /// Round 0's time, epoch seconds.
    public let start: Double = 1_700_000_000
    /// Creates the workload; ``populate(_:)`` stores it.
    public init(subStreams: Int, perStream: Int = 10, groups: Int = 100) {
        self.subStreams = subStreams
        self.perStream = perStream
        self.groups = groups
    }

    private var step: Double { Double(repeatInterval) / Double(groups) }

    /// Stores every sub-stream, one envelope per group, each with one check state and a one-day expiry.
    public func populate(_ processor: HealthProcessor) async throws {
        for group in 0..<groups {
            var messages: [HealthMessage] = []
            for index in stride(from: group, to: subStreams, by: groups) {
                let key = StreamKey(urn: "urn:health:sweep:stream-\(index / perStream)", subStreamId: "agent-\(index)")
                let state = ChurnWorkload.checkState(stream: index / perStream, slot: index % perStream, health: .clear)
                messages.append(
                    HealthMessage(
                        stream: key, startSnapshot: Intervals(repeatInterval: repeatInterval, expiryInterval: 86_400),
                        stopSnapshot: true, checkStates: [.upsert(state)]
                    ))
            }
            let time = Date(timeIntervalSince1970: start + Double(group) * step)
            try await processor.apply(Envelope(messages: messages), at: time)
        }
    }

    /// The time sweep `k` (from 0) advances the clock to: the middle of the `k`-th step after the first deadline.
    public func time(ofSweep k: Int) -> Date {
        Date(timeIntervalSince1970: start + Double(repeatInterval) + (Double(k) + 0.5) * step)
    }
}
