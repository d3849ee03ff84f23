import HealthSync
import HealthSyncAudit
import Testing

/// Hand-computed flap scores: weight(i) = 0.8 + 0.4 × i / 19 for transition i (0 oldest, 19 newest), score =
/// Σ weights of the transitions that change / 20 × 100.
@Suite struct FlapDetectionTests {
    /// `C`, `D`, `X` for CLEAR, DEVIATING, CRITICAL.
    private func healths(_ text: String) -> [Health] {
        text.map { character in
            switch character {
            case "D": .deviating
            case "X": .critical
            default: .clear
            }
        }
    }

    private func expectScore(
        _ observations: String, _ expected: Double, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let score = FlapDetection.percentStateChange(healths(observations))
        #expect(
            abs(score - expected) < 0.0001, "\(observations): \(score), expected \(expected)",
            sourceLocation: sourceLocation)
    }

    @Test func weightsRunLinearlyFromPointEightToOnePointTwoAndAddUpToTwenty() {
        #expect(abs(FlapDetection.weight(ofTransition: 0) - 0.8) < 1e-12)
        #expect(abs(FlapDetection.weight(ofTransition: 19) - 1.2) < 1e-12)
        #expect(abs(FlapDetection.weight(ofTransition: 10) - (0.8 + 4.0 / 19)) < 1e-12)
        let total = (0..<20).reduce(0.0) { $0 + FlapDetection.weight(ofTransition: $1) }
        #expect(abs(total - 20) < 1e-9)
    }

    @Test func constantHistoryScoresZero() {
        expectScore("", 0)
        expectScore("C", 0)
        expectScore(String(repeating: "X", count: 21), 0)
        expectScore(String(repeating: "D", count: 50), 0)
    }

    @Test func changeAtEveryObservationScoresOneHundred() {
        // 21 observations, 20 transitions, all weights: 20 / 20.
        expectScore("CXCXCXCXCXCXCXCXCXCXC", 100)
        // Only the last 21 count.
        expectScore(String(repeating: "CD", count: 30), 100)
        // Any change of health counts, not only to and from CLEAR.
        expectScore("CDXCDXCDXCDXCDXCDXCDX", 100)
    }

    @Test func singleTransitionWeighsByItsAge() {
        // Newest slot: 1.2 / 20 = 6 %.
        expectScore(String(repeating: "C", count: 20) + "D", 6)
        // Oldest slot: 0.8 / 20 = 4 %.
        expectScore("C" + String(repeating: "D", count: 20), 4)
        // Slot 10: (0.8 + 0.4 × 10 / 19) / 20 = 5.0526 %.
        expectScore(String(repeating: "C", count: 11) + String(repeating: "D", count: 10), (0.8 + 4.0 / 19) * 5)
    }

    @Test func shortHistoryIsPaddedWithItsFirstObservation() {
        // Two observations: one transition in the newest slot, as if 19 more C came first.
        expectScore("CD", 6)
        // Three alternating: slots 18 and 19: (1.17895 + 1.2) / 20.
        expectScore("CDC", (0.8 + 0.4 * 18 / 19 + 1.2) * 5)
    }

    @Test func alternatingHalfHistoryScoresTheNewestTenWeights() {
        // 11 alternating observations then nothing else: transitions in slots 10...19:
        // 10 × 0.8 + 0.4 / 19 × (10 + … + 19) = 8 + 58 / 19 = 11.0526 → 55.263 %.
        expectScore("CXCXCXCXCXC", (8 + 58.0 / 19) * 5)
        expectScore(String(repeating: "C", count: 10) + "CXCXCXCXCXC", (8 + 58.0 / 19) * 5)
    }

    @Test func flappingStartsAboveHighAndStopsBelowLow() {
        let detection = FlapDetection()
        #expect(detection.highThreshold == 50)
        #expect(detection.lowThreshold == 25)
        #expect(!detection.isFlapping(after: 50, wasFlapping: false))
        #expect(detection.isFlapping(after: 50.01, wasFlapping: false))
        #expect(detection.isFlapping(after: 25, wasFlapping: true))
        #expect(!detection.isFlapping(after: 24.99, wasFlapping: true))
        #expect(detection.isFlapping(after: 40, wasFlapping: true), "between the thresholds it stays flapping")
        #expect(!detection.isFlapping(after: 40, wasFlapping: false), "between the thresholds it stays stable")
    }

    @Test func trackerFollowsHysteresis() {
        // 21 alternating observations, then 19 CLEAR: the score passes 50 % at observation 9 (50.21 %),
        // peaks at 100 % at observation 20, is 25.58 % at 34 and 21.05 % at 35, and ends at 4 %.
        let sequence = healths("CXCXCXCXCXCXCXCXCXCXC" + String(repeating: "C", count: 19))
        var tracker = FlapDetection.Tracker(detection: FlapDetection())
        var flapping: [Bool] = []
        for health in sequence {
            tracker.observe(health)
            flapping.append(tracker.isFlapping)
        }
        #expect(flapping.firstIndex(of: true) == 9)
        #expect(flapping[34] == true)
        #expect(flapping[35] == false)
        #expect(flapping.lastIndex(of: true) == 34)
        #expect(tracker.episodes == 1)
        #expect(abs(tracker.maximum - 100) < 0.0001)
        #expect(abs(tracker.score - 4) < 0.0001)
        #expect(tracker.observations == 40)
    }

    @Test func batchedObservationsEqualSingleOnes() {
        var single = FlapDetection.Tracker(detection: FlapDetection())
        var batched = FlapDetection.Tracker(detection: FlapDetection())
        for health in healths("CXCXCXCXCXCXCXC") {
            single.observe(health)
            batched.observe(health)
        }
        for _ in 0..<30 { single.observe(.clear) }
        batched.observe(.clear, count: 30)
        #expect(single.score == batched.score)
        #expect(single.maximum == batched.maximum)
        #expect(single.isFlapping == batched.isFlapping)
        #expect(single.episodes == batched.episodes)
        #expect(single.observations == batched.observations)
        #expect(!batched.isFlapping)
        #expect(batched.observations == 45)
        #expect(batched.score == 0)
    }
}
