import HealthSync

/// Flap detection as Nagios, Icinga and Sensu do it: a weighted percentage of state changes over the last 21
/// observations, with hysteresis between a high and a low threshold.
///
/// The 21 observations hold 20 possible transitions. Transition `i` (0 the oldest, 19 the newest) weighs
/// `0.8 + 0.4 × i / 19`, linearly from 0.8 to 1.2, so that the weights add up to 20 and a check state that changes
/// at every observation scores exactly 100 %:
///
/// ```
/// percentStateChange = Σ weight(i) over the transitions i that change the health / 20 × 100
/// ```
///
/// A check state *starts flapping* when its score rises above ``highThreshold`` and *stops* when it falls below
/// ``lowThreshold``; in between it keeps its current flapping state. With fewer than 21 observations the history is
/// padded with the first observation, as Nagios fills a new history with the current state.
///
/// Nagios weighs from 0.75 to 1.25 (`base/flapping.c`), Icinga 2 and Sensu Go from 0.8 in steps of 0.02 (to 1.18);
/// the curves differ by at most 2.5 points of percentage. See `Docs/audit.md`.
public struct FlapDetection: Sendable, Hashable, Codable {
    /// How many observations the score looks at.
    public static let historyLength = 21

    /// Above this percentage a check state starts flapping (Nagios's documented example: 50).
    public var highThreshold: Double
    /// Below this percentage a flapping check state stops flapping (Nagios's documented example: 25).
    public var lowThreshold: Double

    /// Creates a detector; `precondition`: `0 ≤ lowThreshold ≤ highThreshold ≤ 100`.
    public init(highThreshold: Double = 50, lowThreshold: Double = 25) {
        precondition(
            0 <= lowThreshold && lowThreshold <= highThreshold && highThreshold <= 100,
            "flap thresholds must satisfy 0 ≤ low ≤ high ≤ 100")
        self.highThreshold = highThreshold
        self.lowThreshold = lowThreshold
    }

    /// The weight of transition `index`, 0 (oldest) to 19 (newest): `0.8 + 0.4 × index / 19`.
    public static func weight(ofTransition index: Int) -> Double {
        0.8 + 0.4 * Double(index) / Double(historyLength - 2)
    }

    /// The weighted percentage of state changes over the last ``historyLength`` of `observations` (oldest first).
    public static func percentStateChange(_ observations: [Health]) -> Double {
        let recent = observations.suffix(historyLength)
        guard recent.count > 1 else { return 0 }
        var changes = 0.0
        // With n observations, the n - 1 transitions are the newest slots of the 20.
        let firstSlot = historyLength - recent.count
        for (offset, pair) in zip(recent, recent.dropFirst()).enumerated() where pair.0 != pair.1 {
            changes += weight(ofTransition: firstSlot + offset)
        }
        return changes / Double(historyLength - 1) * 100
    }

    /// The flapping state after a score: starts above ``highThreshold``, stops below ``lowThreshold``.
    public func isFlapping(after score: Double, wasFlapping: Bool) -> Bool {
        wasFlapping ? score >= lowThreshold : score > highThreshold
    }

    /// Follows one check state's observations and its flapping state.
    public struct Tracker: Sendable, Hashable {
        /// The detector.
        public let detection: FlapDetection
        /// The last ``FlapDetection/historyLength`` observations, oldest first. When the health has not changed for
        /// 20 observations it holds fewer: a constant history scores 0 however long it is.
        private var recent: [Health] = []
        /// Observations since the latest change of health.
        private var sinceChange = 0
        /// How many observations were made.
        public private(set) var observations = 0
        /// The score after the latest observation.
        public private(set) var score = 0.0
        /// The highest score seen.
        public private(set) var maximum = 0.0
        /// Whether the check state is flapping after the latest observation.
        public private(set) var isFlapping = false
        /// How many times it started flapping.
        public private(set) var episodes = 0

        /// Creates a tracker without observations.
        public init(detection: FlapDetection) {
            self.detection = detection
        }

        /// Records `count` observations of `health`.
        public mutating func observe(_ health: Health, count: Int = 1) {
            guard count > 0 else { return }
            // After 20 unchanged observations the score is 0 and stays 0: skip the arithmetic.
            let steps = min(count, FlapDetection.historyLength)
            for _ in 0..<steps { observeOnce(health) }
            observations += count - steps
        }

        private mutating func observeOnce(_ health: Health) {
            observations += 1
            if let last = recent.last, last == health {
                sinceChange += 1
                if sinceChange >= FlapDetection.historyLength - 1 {
                    recent = [health]
                    update(score: 0)
                    return
                }
            } else if !recent.isEmpty {
                sinceChange = 0
            }
            recent.append(health)
            if recent.count > FlapDetection.historyLength {
                recent.removeFirst(recent.count - FlapDetection.historyLength)
            }
            update(score: FlapDetection.percentStateChange(recent))
        }

        private mutating func update(score: Double) {
            self.score = score
            maximum = max(maximum, score)
            let flapping = detection.isFlapping(after: score, wasFlapping: isFlapping)
            if flapping && !isFlapping { episodes += 1 }
            isFlapping = flapping
        }
    }
}
