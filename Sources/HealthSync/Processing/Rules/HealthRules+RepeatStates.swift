import Foundation

extension HealthRules {
    /// REPEAT_STATES (SPEC §4): `expiry` sets up or replaces the intervals, check states are upserted and refreshed.
    func processRepeatStates(
        _ message: HealthMessage,
        in work: WorkingSet,
        at now: Date,
        latency: TimeInterval
    ) throws(MissingRead) {
        let key = message.stream
        var record = try work.subStream(key)
        let errorMark = work.errorsRaised(on: key)
        var setupRejected = false

        if let expiry = message.expiry {
            // The maximum is the StackState receiver's limit; a message with liveness comes from a translation of
            // another protocol, which checks its own limits (a status reporter may promise up to a day).
            if message.liveness == nil
                && rejectsRepeatInterval(
                    expiry, on: key, known: record != nil, path: "\(message.path).expiry", at: now, work: work
                )
            {
                setupRejected = true
            } else if var sub = record {
                sub.deadlines.checkStateExpiry = adjustedCheckStateBound(of: sub, newExpiry: expiry.expiry)
                sub.intervals = expiry
                record = sub
            } else {
                record = createSubStream(key, intervals: expiry, at: now, work: work)
            }
        }

        guard var sub = record else {
            if !message.checkStates.isEmpty {
                raiseMissingSubStream(of: message, setUpBy: "expiry", at: now, work: work)
            }
            return
        }

        try applyCheckStates(message.checkStates, of: message, to: &sub, at: now, work: work)
        if let expiry = sub.intervals?.expiry, sub.deadlines.checkStateExpiry == nil,
            message.checkStates.contains(where: { if case .upsert = $0 { true } else { false } })
        {
            sub.deadlines.checkStateExpiry = now.addingTimeInterval(TimeInterval(expiry))
        }
        // Liveness: the bound stays a lower bound of every live check state's deadline.
        for case .upsert(let checkState) in message.checkStates {
            guard let liveness = liveness(of: message, covering: checkState.checkStateId) else { continue }
            let deadline = now.addingTimeInterval(TimeInterval(liveness.interval + liveness.grace))
            sub.deadlines.silence = min(sub.deadlines.silence ?? deadline, deadline)
        }
        if let repeatInterval = sub.intervals?.repeatInterval {
            sub.deadlines.lateData = lateDeadline(from: now, repeatInterval: repeatInterval)
        }
        noteMessage(on: &sub, at: now, latency: latency)
        if work.errorsRaised(on: key) == errorMark && !setupRejected {
            let cause = "message without errors"
            var codes = StreamErrorCode.closedByCleanSnapshot
            codes.insert(.subStreamLateData)
            work.close(codes, on: key, streamLevel: false, at: now, because: cause)
            work.close([.subStreamRepeatIntervalTooHigh], on: key, streamLevel: true, at: now, because: cause)
        }
        work.put(sub)
    }

    /// Keeps the check-state expiry bound a lower bound when the expiry interval changes.
    private func adjustedCheckStateBound(of sub: SubStreamRecord, newExpiry: Int?) -> Date? {
        guard let newExpiry else { return nil }
        if let bound = sub.deadlines.checkStateExpiry, let oldExpiry = sub.intervals?.expiry {
            return bound.addingTimeInterval(TimeInterval(newExpiry - oldExpiry))
        }
        // No bound was kept: no check state is seen before the sub-stream was created.
        return sub.createdAt.addingTimeInterval(TimeInterval(newExpiry))
    }
}
