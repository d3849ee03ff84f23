import Foundation

extension HealthRules {
    /// TRANSACTIONAL_INCREMENTS (SPEC §5): checkpoint chaining, then the increment's upserts and deletes.
    func processTransactionalIncrements(
        _ message: HealthMessage,
        in work: WorkingSet,
        at now: Date,
        latency: TimeInterval
    ) throws(MissingRead) {
        guard let increment = message.increment else { return }
        let key = message.stream
        let errorMark = work.errorsRaised(on: key)
        var chained = false
        var sub: SubStreamRecord

        if let existing = try work.subStream(key), let last = existing.checkpoint {
            sub = existing
            if increment.checkpoint == last { return }
            if increment.checkpoint < last {
                work.raise(
                    .subStreamOutdatedCheckpoint, on: key, streamLevel: false,
                    message: "checkpoint (\(increment.checkpoint)) at \(message.path).increment precedes the "
                        + "sub-stream's checkpoint (\(last)); the message was skipped",
                    at: now
                )
                return
            }
            if let previous = increment.previousCheckpoint {
                if previous == last {
                    chained = true
                } else {
                    work.raise(
                        .subStreamInvalidCheckpoint, on: key, streamLevel: false,
                        message: "previous_checkpoint (\(previous)) at \(message.path).increment is not the "
                            + "sub-stream's checkpoint (\(last)); applied anyway, increments may be missing",
                        at: now
                    )
                }
            } else {
                work.raise(
                    .subStreamMissingCheckpoint, on: key, streamLevel: false,
                    message: "increment at \(message.path) has no previous_checkpoint (the sub-stream is at \(last)); "
                        + "applied anyway, increments may be missing",
                    at: now
                )
            }
        } else if let existing = try work.subStream(key) {
            sub = existing
            chained = true
        } else {
            sub = createSubStream(key, intervals: nil, at: now, work: work)
            chained = true
        }

        try applyCheckStates(message.checkStates, of: message, to: &sub, at: now, work: work)
        sub.checkpoint = increment.checkpoint
        noteMessage(on: &sub, at: now, latency: latency)
        if chained {
            work.close(
                StreamErrorCode.checkpointErrors, on: key, streamLevel: false, at: now,
                because: "correctly chained increment"
            )
        }
        if work.errorsRaised(on: key) == errorMark {
            work.close(
                [.subStreamTransformerError], on: key, streamLevel: false, at: now,
                because: "message without errors")
        }
        work.put(sub)
    }
}
