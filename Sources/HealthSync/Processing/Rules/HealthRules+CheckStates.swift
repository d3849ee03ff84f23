import Foundation

extension HealthRules {
    /// Creates or updates a check state and marks it seen at `now` in snapshot `sequence`.
    /// An identical repeat is not an update: it only refreshes what was seen.
    func upsert(
        _ checkState: CheckState,
        in key: StreamKey,
        sequence: Int64,
        at now: Date,
        metrics: inout SubStreamMetrics,
        liveness: Liveness? = nil,
        work: WorkingSet
    ) throws(MissingRead) {
        var promise: CheckStateLiveness?
        var silenced = false
        if let liveness {
            promise = CheckStateLiveness(interval: liveness.interval, grace: liveness.grace)
            silenced = try work.checkState(checkState.checkStateId, of: key)?.liveness?.silencedAt != nil
        }
        switch try work.upsert(checkState, in: key, sequence: sequence, at: now, liveness: promise) {
        case .created:
            metrics.creates += 1
            work.record(
                HealthEvent(
                    at: now, kind: .checkStateCreated, urn: key.urn, subStreamId: key.subStreamId,
                    checkState: checkState
                ))
        case .updated(let previous):
            metrics.updates += 1
            work.record(
                HealthEvent(
                    at: now, kind: .checkStateUpdated, urn: key.urn, subStreamId: key.subStreamId,
                    checkState: checkState, previousHealth: previous,
                    detail: silenced ? "reported again after silence" : nil
                ))
        case .refreshed, .unchanged:
            break
        }
    }

    /// The liveness promise of `message` for check state `id`: REPEAT_STATES messages only.
    func liveness(of message: HealthMessage, covering id: String) -> Liveness? {
        guard message.consistencyModel == .repeatStates, let liveness = message.liveness, liveness.covers(id)
        else { return nil }
        return liveness
    }

    /// Marks an existing check state seen without changing it (a bad update must not turn into a deletion).
    func touch(_ id: String, in key: StreamKey, sequence: Int64, at now: Date, work: WorkingSet) throws(MissingRead) {
        guard var existing = try work.checkState(id, of: key) else { return }
        existing.lastSeenAt = now
        existing.snapshotSequence = sequence
        work.save(existing)
    }

    /// Deletes a check state and records why.
    func delete(
        _ state: StoredCheckState,
        reason: DeletionReason,
        at time: Date,
        metrics: inout SubStreamMetrics,
        work: WorkingSet
    ) {
        metrics.deletes += 1
        work.delete(state.checkStateId, of: state.key)
        work.record(
            HealthEvent(
                at: time, kind: .checkStateDeleted, urn: state.key.urn, subStreamId: state.key.subStreamId,
                checkState: state.checkState, deletionReason: reason
            ))
    }

    /// Applies a message's check states to an existing sub-stream: upserts, deletes (TRANSACTIONAL_INCREMENTS) and
    /// the transformer errors of invalid entries.
    func applyCheckStates(
        _ inputs: [CheckStateInput],
        of message: HealthMessage,
        to record: inout SubStreamRecord,
        at now: Date,
        work: WorkingSet
    ) throws(MissingRead) {
        let key = record.key
        // Every check state the message names is staged before the first is applied: the shell reads them ahead
        // (``HealthProcessor/prepare(_:in:)``), and when it did not, one request names them all.
        // (Most often every check state of the sub-stream is staged: the ids are then not even listed.)
        if !work.hasAllCheckStates(of: key) {
            let unstaged = work.unstagedCheckStateIds(inputs.compactMap(\.checkStateId), of: key)
            if !unstaged.isEmpty { throw MissingRead(.checkStates(key, ids: unstaged)) }
        }
        for input in inputs {
            switch input {
            case .upsert(let checkState):
                try upsert(
                    checkState, in: key, sequence: record.snapshotSequence, at: now, metrics: &record.metrics,
                    liveness: liveness(of: message, covering: checkState.checkStateId), work: work
                )
            case .delete(let id):
                if let existing = try work.checkState(id, of: key) {
                    delete(existing, reason: .deleteRequest, at: now, metrics: &record.metrics, work: work)
                } else {
                    work.raise(
                        .subStreamUnknownCheckState, on: key, streamLevel: false,
                        message: "delete of unknown check state \"\(id)\" at \(message.path)", at: now
                    )
                }
            case .invalid(let id, let problem):
                work.raise(
                    .subStreamTransformerError, on: key, streamLevel: false,
                    message: "check state dropped: \(problem)", at: now
                )
                if let id { try touch(id, in: key, sequence: record.snapshotSequence, at: now, work: work) }
            }
        }
    }

    /// Counts a message on its sub-stream: last message time, metrics and the expiry deadline.
    func noteMessage(on record: inout SubStreamRecord, at now: Date, latency: TimeInterval) {
        record.lastMessageAt = now
        record.metrics.messages += 1
        record.metrics.totalLatency += latency
        record.metrics.lastLatency = latency
        if let expiry = record.intervals?.expiry {
            record.deadlines.expiry = now.addingTimeInterval(TimeInterval(expiry))
        } else {
            record.deadlines.expiry = nil
        }
    }

    /// Sets up a new sub-stream: the record, its event, and closes the stream-level errors its absence caused.
    func createSubStream(
        _ key: StreamKey,
        intervals: Intervals?,
        checkpoint: Checkpoint? = nil,
        at now: Date,
        work: WorkingSet
    ) -> SubStreamRecord {
        let record = SubStreamRecord(
            key: key, createdAt: now, intervals: intervals, lastMessageAt: now, checkpoint: checkpoint
        )
        work.put(record)
        work.record(HealthEvent(at: now, kind: .subStreamCreated, urn: key.urn, subStreamId: key.subStreamId))
        work.close([.streamMissingSubStream], on: key, streamLevel: true, at: now, because: "sub-stream set up")
        work.close([.subStreamExpired], on: key, streamLevel: true, at: now, because: "sub-stream recreated")
        return record
    }

    /// Raises `SubStreamRepeatIntervalTooHigh` when the interval is above the maximum; returns whether it did.
    func rejectsRepeatInterval(
        _ intervals: Intervals,
        on key: StreamKey,
        known: Bool,
        path: String,
        at now: Date,
        work: WorkingSet
    ) -> Bool {
        guard intervals.repeatInterval > configuration.maximumRepeatInterval else { return false }
        work.raise(
            .subStreamRepeatIntervalTooHigh, on: key, streamLevel: !known,
            message: "repeat_interval_s \(intervals.repeatInterval) at \(path) is above the maximum of "
                + "\(configuration.maximumRepeatInterval) seconds; the setup was rejected",
            at: now
        )
        return true
    }

    /// The late deadline measured from `base`: `base + repeat + lateGrace`.
    func lateDeadline(from base: Date, repeatInterval: Int) -> Date {
        base.addingTimeInterval(TimeInterval(repeatInterval) + configuration.lateGrace)
    }

    /// Raises `StreamMissingSubStream` for the check states of `message`, dropped because their sub-stream was never
    /// set up by `setup` (the message that creates a sub-stream in the model).
    func raiseMissingSubStream(of message: HealthMessage, setUpBy setup: String, at now: Date, work: WorkingSet) {
        work.raise(
            .streamMissingSubStream, on: message.stream, streamLevel: true,
            message: "\(message.checkStates.count) check state(s) at \(message.path).check_states dropped: "
                + "sub-stream \(subStreamName(message.stream)) was never set up with \(setup)",
            at: now
        )
    }
}
