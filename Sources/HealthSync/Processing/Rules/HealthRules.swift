import Foundation

/// The processing rules of SPEC §3–§7: synchronous code over the records a ``WorkingSet`` has staged.
///
/// A rule reads records from the working set, changes them there and records events; it does no I/O and never
/// awaits. What it needs that is not staged it asks for by throwing a ``MissingRead``: the
/// ``HealthProcessor``'s shell plans the reads for an envelope, a batch or a sweep so that this stays the rare case,
/// makes the read when it happens and runs the rules again. Time is a parameter (`now`, a deadline), never read
/// from a clock, so the rules can be tested with no store and no clock at all.
struct HealthRules: Sendable {
    /// The processor's settings the rules depend on (`lateGrace`, `maximumRepeatInterval`).
    let configuration: HealthProcessor.Configuration

    /// Applies one message (SPEC §3–§6) to the working set.
    func process(
        _ message: HealthMessage,
        in work: WorkingSet,
        at now: Date,
        receivedAt: Date
    ) throws(MissingRead) {
        let key = message.stream
        if let stream = try work.stream(key.urn) {
            guard stream.consistencyModel == message.consistencyModel else {
                work.raise(
                    .streamConsistencyModelMismatch, on: key, streamLevel: true,
                    message: "a \(message.consistencyModel.rawValue) message at \(message.path) was ignored: "
                        + "the stream uses \(stream.consistencyModel.rawValue)",
                    at: now
                )
                return
            }
        } else {
            work.put(StreamRecord(urn: key.urn, consistencyModel: message.consistencyModel, createdAt: now))
            work.record(
                HealthEvent(
                    at: now, kind: .streamCreated, urn: key.urn, subStreamId: "",
                    detail: message.consistencyModel.rawValue
                ))
        }
        let latency = max(0, now.timeIntervalSince(receivedAt))
        switch message.consistencyModel {
        case .repeatSnapshots: try processRepeatSnapshots(message, in: work, at: now, latency: latency)
        case .repeatStates: try processRepeatStates(message, in: work, at: now, latency: latency)
        case .transactionalIncrements:
            try processTransactionalIncrements(message, in: work, at: now, latency: latency)
        }
    }

    /// A REPEAT_SNAPSHOTS message that stops a snapshot diffs against every stored check state: the shell reads
    /// them with the stream, in the same store call.
    static func readsCheckStatesFirst(_ message: HealthMessage) -> Bool {
        message.consistencyModel == .repeatSnapshots && message.stopSnapshot
    }
}
