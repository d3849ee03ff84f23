import Foundation

extension HealthRules {
    /// The kinds of timer a sub-stream has, in the order they fire when due at the same instant.
    enum Timer: Int, Comparable {
        case missingStop
        case lateData
        case silence
        case expiry
        case checkStateExpiry

        static func < (lhs: Timer, rhs: Timer) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The earliest timer of a sub-stream.
    static func nextTimer(of record: SubStreamRecord) -> (deadline: Date, timer: Timer)? {
        let deadlines = record.deadlines
        let all: [(Date?, Timer)] = [
            (deadlines.missingStop, .missingStop), (deadlines.lateData, .lateData),
            (deadlines.silence, .silence), (deadlines.expiry, .expiry),
            (deadlines.checkStateExpiry, .checkStateExpiry),
        ]
        return all.compactMap { deadline, timer in deadline.map { ($0, timer) } }
            .min { ($0.0, $0.1) < ($1.0, $1.1) }
    }

    /// Whether firing the timers of `record` due before `time` reads every check state of the sub-stream: an
    /// automatic stop, an expiry, a check-state expiry or a silence is due (late data reads none). The shell reads
    /// them ahead.
    static func firingReadsCheckStates(of record: SubStreamRecord, before time: Date) -> Bool {
        let deadlines = record.deadlines
        let reading = [deadlines.missingStop, deadlines.expiry, deadlines.checkStateExpiry, deadlines.silence]
        return reading.contains { deadline in
            deadline.map { $0 < time } ?? false
        }
    }

    /// Fires, in the working set, the timers of these sub-streams due strictly before `time`, sub-stream by
    /// sub-stream in the order given: for a sweep, the due sub-streams the store listed; within a batch,
    /// ``stagedDue(in:before:)``, as ``HealthProcessor/advance(to:)`` would fire them with the staged records
    /// committed.
    func fireTimers(of keys: [StreamKey], in work: WorkingSet, before time: Date) throws(MissingRead) -> SweepResult {
        _ = work.takeCounts()
        var result = SweepResult(clock: time)
        for key in keys {
            let fired = try fireTimers(of: key, in: work, before: time)
            result.timersFired += fired.timers
            result.missedPeriods += fired.missedPeriods
        }
        result.counts = work.takeCounts()
        return result
    }

    /// The staged sub-streams (read, or changed by an earlier envelope of the batch) with a timer due before `time`,
    /// earliest first (ties by key, as the stores order them).
    static func stagedDue(in work: WorkingSet, before time: Date) -> [StreamKey] {
        work.stagedDeadlines(before: time).sorted { ($0.deadline, $0.key) < ($1.deadline, $1.key) }.map(\.key)
    }

    /// Fires, in deadline order and at their deadlines, the timers of one sub-stream that are due before `time`.
    /// - Returns: how many timers fired, and how many missed repeat intervals their late data counted.
    func fireTimers(
        of key: StreamKey, in work: WorkingSet, before time: Date
    ) throws(MissingRead) -> (timers: Int, missedPeriods: Int) {
        guard var sub = try work.subStream(key) else { return (0, 0) }
        var fired = 0
        var missed = 0
        while let (deadline, timer) = Self.nextTimer(of: sub), deadline < time {
            switch timer {
            case .missingStop:
                try stopAutomatically(&sub, at: deadline, work: work)
                fired += 1
            case .lateData:
                var others = sub.deadlines
                others.lateData = nil
                let horizon = min(time, others.earliest ?? time)
                let periods = try raiseLateData(on: &sub, at: deadline, before: horizon, work: work)
                if periods > 0 {
                    fired += 1
                    missed += periods
                }
            case .expiry:
                try expire(sub, at: deadline, work: work)
                return (fired + 1, missed)
            case .checkStateExpiry:
                fired += try expireCheckStates(of: &sub, dueAt: deadline, work: work)
            case .silence:
                fired += try silenceCheckStates(of: &sub, dueAt: deadline, work: work)
            }
        }
        work.put(sub)
        return (fired, missed)
    }

    /// SPEC §3: a snapshot open at `startedAt + 2 × repeat` is stopped automatically; the diff runs on what arrived.
    private func stopAutomatically(
        _ sub: inout SubStreamRecord,
        at deadline: Date,
        work: WorkingSet
    ) throws(MissingRead) {
        let key = sub.key
        sub.deadlines.missingStop = nil
        guard let snapshot = sub.openSnapshot else { return }
        for state in try work.checkStates(of: key, notSeenIn: sub.snapshotSequence) {
            delete(state, reason: .automaticStop, at: deadline, metrics: &sub.metrics, work: work)
        }
        sub.openSnapshot = nil
        let repeatInterval = sub.intervals?.repeatInterval ?? 0
        work.raise(
            .subStreamMissingStop, on: key, streamLevel: false,
            message: "the snapshot started at \(timestamp(snapshot.startedAt)) got no stop_snapshot within "
                + "2 × repeat_interval_s (\(2 * repeatInterval) s); it was stopped automatically",
            at: deadline
        )
        work.record(
            HealthEvent(
                at: deadline, kind: .snapshotAutoStopped, urn: key.urn, subStreamId: key.subStreamId,
                detail: "started at \(timestamp(snapshot.startedAt))"
            ))
    }

    /// SPEC §3/§4: the source missed its repeat interval; raised once per missed deadline, data is kept.
    ///
    /// Every deadline `deadline + k × repeat` before `horizon` (the clock, or the sub-stream's next other timer) is
    /// raised in one step, so a long silence costs one update, not one per missed interval. Returns how many.
    private func raiseLateData(
        on sub: inout SubStreamRecord,
        at deadline: Date,
        before horizon: Date,
        work: WorkingSet
    ) throws(MissingRead) -> Int {
        guard let repeatInterval = sub.intervals?.repeatInterval else {
            sub.deadlines.lateData = nil
            return 0
        }
        let interval = TimeInterval(repeatInterval)
        var missed = 1
        if horizon > deadline {
            missed = max(1, Int((horizon.timeIntervalSince(deadline) / interval).rounded(.up)))
            while missed > 1 && deadline.addingTimeInterval(TimeInterval(missed - 1) * interval) >= horizon {
                missed -= 1
            }
        }
        let last = deadline.addingTimeInterval(TimeInterval(missed - 1) * interval)
        let model = try work.stream(sub.key.urn)?.consistencyModel ?? .repeatSnapshots
        let absent = model == .repeatSnapshots ? "no snapshot completed" : "no message arrived"
        let grace = configuration.lateGrace > 0 ? " + late grace (\(seconds(configuration.lateGrace)))" : ""
        let said = "\(absent) within repeat_interval_s (\(repeatInterval) s)\(grace): it was due by "
        work.raise(
            .subStreamLateData, on: sub.key, streamLevel: false,
            message: said + timestamp(last),
            at: deadline, repeats: missed, lastAt: last,
            openingMessage: said + timestamp(deadline)
        )
        sub.deadlines.lateData = last.addingTimeInterval(interval)
        return missed
    }

    /// SPEC §3/§4: no message for `expiry_interval_s`: the sub-stream and its check states are removed.
    func expire(_ sub: SubStreamRecord, at deadline: Date, work: WorkingSet) throws(MissingRead) {
        let key = sub.key
        var metrics = sub.metrics
        for state in try work.allCheckStates(of: key) {
            delete(state, reason: .subStreamExpired, at: deadline, metrics: &metrics, work: work)
        }
        let open = work.openErrors(of: key.urn).filter { !$0.key.streamLevel && $0.key.subStreamId == key.subStreamId }
        work.close(Set(open.map(\.code)), on: key, streamLevel: false, at: deadline, because: "sub-stream expired")
        work.deleteSubStream(key)
        work.raise(
            .subStreamExpired, on: key, streamLevel: true,
            message: "sub-stream \(subStreamName(key)) got no message for expiry_interval_s "
                + "(\(sub.intervals?.expiryInterval ?? 0) s) since \(timestamp(sub.lastMessageAt)); "
                + "it was removed with its check states",
            at: deadline
        )
        work.record(HealthEvent(at: deadline, kind: .subStreamExpired, urn: key.urn, subStreamId: key.subStreamId))
    }

    /// SPEC §4: deletes the check states not seen for `expiry_interval_s`, each at its own deadline, and moves the
    /// bound to the next one. Returns how many were deleted.
    private func expireCheckStates(
        of sub: inout SubStreamRecord,
        dueAt bound: Date,
        work: WorkingSet
    ) throws(MissingRead) -> Int {
        guard let expiry = sub.intervals?.expiry else {
            sub.deadlines.checkStateExpiry = nil
            return 0
        }
        let interval = TimeInterval(expiry)
        let states = try work.allCheckStates(of: sub.key)
        var expired = 0
        var next: Date?
        for state in states {
            let deadline = state.lastSeenAt.addingTimeInterval(interval)
            if deadline <= bound {
                delete(state, reason: .expiry, at: deadline, metrics: &sub.metrics, work: work)
                expired += 1
            } else {
                next = min(next ?? deadline, deadline)
            }
        }
        sub.deadlines.checkStateExpiry = next
        return expired
    }

    /// Liveness: turns `CRITICAL` the live check states not reported within their interval plus grace, each at its
    /// own deadline, and moves the bound to the next one. Returns how many turned.
    private func silenceCheckStates(
        of sub: inout SubStreamRecord,
        dueAt bound: Date,
        work: WorkingSet
    ) throws(MissingRead) -> Int {
        var silenced = 0
        var next: Date?
        for var state in try work.allCheckStates(of: sub.key) {
            guard let deadline = state.silenceDeadline, var liveness = state.liveness else { continue }
            guard deadline <= bound else {
                next = min(next ?? deadline, deadline)
                continue
            }
            let previous = state.checkState.health
            let promise = "interval \(liveness.interval) s + \(liveness.grace) s grace"
            state.checkState.health = .critical
            state.checkState.message = "no report for \(liveness.interval + liveness.grace) s: \(promise)"
            liveness.silencedAt = deadline
            state.liveness = liveness
            work.save(state)
            sub.metrics.updates += 1
            work.record(
                HealthEvent(
                    at: deadline, kind: .checkStateUpdated, urn: sub.key.urn, subStreamId: sub.key.subStreamId,
                    checkState: state.checkState, previousHealth: previous,
                    detail: HealthEvent.silenceDetailPrefix
                        + "\(liveness.interval + liveness.grace) s (\(promise))"
                ))
            silenced += 1
        }
        sub.deadlines.silence = next
        return silenced
    }
}
