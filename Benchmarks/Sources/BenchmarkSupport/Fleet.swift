import Foundation
import HealthSync

/// A processor over a store and a ``ChurnWorkload`` for it: what one benchmark's setup and iterations share.
public actor Fleet {
    /// The processor.
    public let processor: HealthProcessor
    /// The consistency model every stream uses.
    public let model: ConsistencyModel
    /// Messages per envelope: 1 is one transaction per envelope of one stream's message; more batches them.
    public let batch: Int
    /// Whether envelopes are applied through ``HealthProcessor/stage(batch:)`` and ``HealthProcessor/complete(_:)``
    /// (each envelope still its own transaction, processed while the one before it commits) instead of one
    /// ``HealthProcessor/apply(_:at:receivedAt:receipt:)`` after the other.
    public let pipelined: Bool
    private var workload: ChurnWorkload

    /// Creates a fleet of `streams` streams over `store`.
    public init(
        streams: Int, model: ConsistencyModel = .repeatSnapshots, batch: Int = 1, pipelined: Bool = false,
        store: any HealthStore
    ) {
        processor = HealthProcessor(store: store)
        self.model = model
        self.batch = batch
        self.pipelined = pipelined
        workload = ChurnWorkload(streams: streams)
    }

    /// The next round's messages (not applied).
    public func nextRound() -> ChurnWorkload.Round { workload.nextRound(model: model) }

    /// Applies a round: envelopes of ``batch`` messages each, at the round's time.
    public func apply(_ round: ChurnWorkload.Round) async throws -> ChangeCounts {
        var counts = ChangeCounts()
        var previous: HealthProcessor.StagedBatch?
        var start = 0
        while start < round.messages.count {
            let end = min(start + batch, round.messages.count)
            let envelope = Envelope(messages: Array(round.messages[start..<end]))
            if pipelined {
                let staged = await processor.stage(batch: [HealthProcessor.BatchEntry(envelope, at: round.time)])
                if let previous { counts += try await Self.counts(of: processor.complete(previous)) }
                previous = staged
            } else {
                counts += try await processor.apply(envelope, at: round.time).counts
            }
            start = end
        }
        if let previous { counts += try await Self.counts(of: processor.complete(previous)) }
        return counts
    }

    private static func counts(of results: [IntakeResult]) -> ChangeCounts {
        results.reduce(into: ChangeCounts()) { $0 += $1.counts }
    }

    /// Generates and applies the next round; returns it with its messages dropped.
    @discardableResult
    public func applyNextRound() async throws -> (round: ChurnWorkload.Round, counts: ChangeCounts) {
        var round = nextRound()
        let counts = try await apply(round)
        round.messages = []
        return (round, counts)
    }
}

/// A ``SweepWorkload`` over a processor, for a benchmark's setup and iterations.
public actor Sweeps {
    /// The processor.
    public let processor: HealthProcessor
    private let workload: SweepWorkload
    private var sweep = 0

    /// Creates the sweeps over `store`.
    public init(_ workload: SweepWorkload, store: any HealthStore) {
        self.workload = workload
        processor = HealthProcessor(store: store)
    }

    /// Stores the sub-streams.
    public func populate() async throws { try await workload.populate(processor) }

    /// Runs the next sweep; returns how many timers fired.
    public func next() async throws -> Int {
        let time = workload.time(ofSweep: sweep)
        sweep += 1
        return try await processor.advance(to: time).timersFired
    }
}
