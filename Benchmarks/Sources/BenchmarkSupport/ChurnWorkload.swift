import Foundation
import HealthSync
import HealthSyncTesting

/// A deterministic fleet of streams whose check states churn from round to round, shared by the benchmarks, by
/// `healthsync-load` and, through the same arithmetic, by the C baseline (`Baseline/sqlite_baseline.c`).
///
/// Stream `s` has `slots` possible check states. In round `r` slot `j` is present unless `mix(s, r, j, 1) % 20 == 0`
/// (about 5 % disappear each round and about as many come back), and before each round after the first its health
/// moves to the next of CLEAR → DEVIATING → CRITICAL → CLEAR when `mix(s, r, j, 3) % 20 == 0` (about 5 % change
/// health). With the default 105 slots a round carries about 100 check states per stream, and about 10 % of them
/// change. Every field value is a pure function of `(s, j, health)`, so the C baseline writes byte-identical rows.
public struct ChurnWorkload: Sendable {
    /// How many streams.
    public let streams: Int
    /// Possible check states per stream.
    public let slots: Int
    /// The time of round 0, in epoch seconds; round `r` is at `startTime + r × roundSeconds`.
    public let startTime: Double
    /// Seconds between rounds (below the 60 s repeat interval, so no timer fires).
    public let roundSeconds: Double = 30
    /// The repeat interval every stream declares.
    public let repeatInterval = 60
    private var health: [UInt8]
    private var stored: [Bool]
    private var storedHealth: [UInt8]
    /// The next round to generate.
    public private(set) var round = 0

    /// Creates a fleet; nothing is generated until ``nextRound(model:)``.
    public init(streams: Int, slots: Int = 105, startTime: Double = 1_700_000_000) {
        self.streams = streams
        self.slots = slots
        self.startTime = startTime
        health = [UInt8](repeating: 0, count: streams * slots)
        stored = [Bool](repeating: false, count: streams * slots)
        storedHealth = [UInt8](repeating: 0, count: streams * slots)
        for stream in 0..<streams {
            for slot in 0..<slots where churnMix(UInt64(stream), 0, UInt64(slot), 2) % 10 == 0 {
                health[stream * slots + slot] = 1
            }
        }
    }

    /// The URN of stream `s`.
    public static func urn(_ stream: Int) -> String { "urn:health:bench:stream-\(stream)" }

    /// The check state of slot `j` of stream `s` at a health: about 240 bytes as JSON.
    public static func checkState(stream: Int, slot: Int, health: Health) -> CheckState {
        CheckState(
            checkStateId: "check-\(slot)",
            name: "Disk usage of /var/lib/data-\(slot)",
            health: health,
            topologyElementIdentifier: "urn:host:/host-\(stream).example.com:volume-\(slot)",
            message: message(health)
        )
    }

    /// The message text of each health.
    public static func message(_ health: Health) -> String {
        switch health {
        case .clear: "Usage is below the warning threshold of 80 % on this data volume."
        case .deviating: "Usage is above the warning threshold of 80 % on this data volume."
        case .critical: "Usage is above the critical threshold of 95 % on this data volume."
        }
    }

    /// The time of a round.
    public func time(ofRound round: Int) -> Date {
        Date(timeIntervalSince1970: startTime + Double(round) * roundSeconds)
    }

    /// What one round sends and what it changes.
    public struct Round: Sendable {
        /// The round's time (every envelope of the round is applied at it).
        public var time: Date
        /// One message per stream, in stream order.
        public var messages: [HealthMessage]
        /// How many check states the messages carry (deletions of TRANSACTIONAL_INCREMENTS included).
        public var checkStates: Int
        /// Check states created, updated and deleted by the round, as the processor will count them.
        public var created = 0, updated = 0, deleted = 0
    }

    /// Generates the next round for `model`: a whole snapshot per stream (REPEAT_SNAPSHOTS), the present check
    /// states with an `expiry` setup (REPEAT_STATES, nothing is deleted), or the present check states plus a
    /// delete for each that disappeared (TRANSACTIONAL_INCREMENTS, chained checkpoints).
    public mutating func nextRound(model: ConsistencyModel = .repeatSnapshots) -> Round {
        let round = self.round
        self.round += 1
        var result = Round(time: time(ofRound: round), messages: [], checkStates: 0)
        result.messages.reserveCapacity(streams)
        for stream in 0..<streams {
            var inputs: [CheckStateInput] = []
            inputs.reserveCapacity(slots)
            for slot in 0..<slots {
                let index = stream * slots + slot
                if round > 0 && mix(stream, round, slot, 3) % 20 == 0 { health[index] = (health[index] + 1) % 3 }
                let present = mix(stream, round, slot, 1) % 20 != 0
                let current = Self.healths[Int(health[index])]
                if present {
                    inputs.append(.upsert(Self.checkState(stream: stream, slot: slot, health: current)))
                }
                let keptAbsent = model == .repeatStates  // REPEAT_STATES deletes nothing when a state is left out
                switch (stored[index], present) {
                case (false, true):
                    result.created += 1
                    stored[index] = true
                    storedHealth[index] = health[index]
                case (true, true):
                    if storedHealth[index] != health[index] { result.updated += 1 }
                    storedHealth[index] = health[index]
                case (true, false) where !keptAbsent:
                    result.deleted += 1
                    stored[index] = false
                    if model == .transactionalIncrements { inputs.append(.delete(checkStateId: "check-\(slot)")) }
                default: break
                }
            }
            result.checkStates += inputs.count
            result.messages.append(message(stream: stream, round: round, model: model, inputs: inputs))
        }
        return result
    }

    private func message(stream: Int, round: Int, model: ConsistencyModel, inputs: [CheckStateInput]) -> HealthMessage {
        var message = HealthMessage(
            stream: StreamKey(urn: Self.urn(stream)), consistencyModel: model, checkStates: inputs,
            path: "health[\(stream)]"
        )
        switch model {
        case .repeatSnapshots:
            message.startSnapshot = Intervals(repeatInterval: repeatInterval)
            message.stopSnapshot = true
        case .repeatStates:
            message.expiry = Intervals(repeatInterval: repeatInterval, expiryInterval: 10 * repeatInterval)
        case .transactionalIncrements:
            message.increment = Increment(
                checkpoint: Checkpoint(offset: Int64(round)),
                previousCheckpoint: round == 0 ? nil : Checkpoint(offset: Int64(round - 1))
            )
        }
        return message
    }

    static let healths: [Health] = [.clear, .deviating, .critical]

    /// The shared hash: SplitMix64's finaliser over a combination of the four inputs (`mix` in the C baseline).
    func mix(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> UInt64 {
        churnMix(UInt64(a), UInt64(b), UInt64(c), UInt64(d))
    }
}

/// SplitMix64's finaliser over `a·K1 ⊕ b·K2 ⊕ c·K3 ⊕ d·K4`; identical to `mix` in `Baseline/sqlite_baseline.c`.
public func churnMix(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> UInt64 {
    var z =
        (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ (c &* 0x1656_67B1_9E37_79F9)
        ^ (d &* 0x27D4_EB2F_1656_67C5)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
