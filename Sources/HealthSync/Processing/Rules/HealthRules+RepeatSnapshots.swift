import Foundation

extension HealthRules {
    /// REPEAT_SNAPSHOTS (SPEC §3): setup, then check states, then stop.
    func processRepeatSnapshots(
        _ message: HealthMessage,
        in work: WorkingSet,
        at now: Date,
        latency: TimeInterval
    ) throws(MissingRead) {
        let key = message.stream
        var record = try work.subStream(key)
        var errorMark = work.errorsRaised(on: key)

        if let start = message.startSnapshot,
            !rejectsRepeatInterval(
                start, on: key, known: record != nil, path: "\(message.path).start_snapshot", at: now, work: work
            )
        {
            record = startSnapshot(start, on: record, key: key, message: message, at: now, work: work)
            errorMark = work.errorsRaised(on: key)
        }

        if !message.checkStates.isEmpty {
            if var sub = record {
                if sub.openSnapshot != nil {
                    try applyCheckStates(message.checkStates, of: message, to: &sub, at: now, work: work)
                } else {
                    work.raise(
                        .subStreamCheckStateOutsideSnapshot, on: key, streamLevel: false,
                        message: "\(message.checkStates.count) check state(s) at \(message.path).check_states "
                            + "dropped: no snapshot is open",
                        at: now
                    )
                }
                record = sub
            } else {
                raiseMissingSubStream(of: message, setUpBy: "start_snapshot", at: now, work: work)
            }
        }

        if message.stopSnapshot {
            if var sub = record {
                if work.errorsRaised(on: key) > errorMark { sub.openSnapshot?.clean = false }
                if let snapshot = sub.openSnapshot {
                    try completeSnapshot(of: &sub, clean: snapshot.clean, at: now, work: work)
                } else {
                    work.raise(
                        .subStreamStopWithoutStart, on: key, streamLevel: false,
                        message: "stop_snapshot at \(message.path) without an open snapshot; nothing was deleted",
                        at: now
                    )
                }
                record = sub
            } else {
                work.raise(
                    .subStreamStopWithoutStart, on: key, streamLevel: true,
                    message: "stop_snapshot at \(message.path) for sub-stream \(subStreamName(key)), "
                        + "which was never set up; nothing was deleted",
                    at: now
                )
            }
        }

        guard var sub = record else { return }
        if work.errorsRaised(on: key) > errorMark { sub.openSnapshot?.clean = false }
        noteMessage(on: &sub, at: now, latency: latency)
        work.put(sub)
    }

    /// Opens a snapshot (creating the sub-stream if new), abandoning an open one.
    private func startSnapshot(
        _ intervals: Intervals,
        on existing: SubStreamRecord?,
        key: StreamKey,
        message: HealthMessage,
        at now: Date,
        work: WorkingSet
    ) -> SubStreamRecord {
        let errorMark = work.errorsRaised(on: key)
        var sub = existing ?? createSubStream(key, intervals: intervals, at: now, work: work)
        let repeatChanged = existing?.intervals?.repeatInterval != intervals.repeatInterval
        sub.intervals = intervals
        if let open = sub.openSnapshot {
            work.raise(
                .subStreamStartWithoutStop, on: key, streamLevel: false,
                message: "start_snapshot at \(message.path) while the snapshot started at "
                    + "\(timestamp(open.startedAt)) was open; it was abandoned without deletions",
                at: now
            )
            work.record(
                HealthEvent(
                    at: now, kind: .snapshotAbandoned, urn: key.urn, subStreamId: key.subStreamId,
                    detail: "started at \(timestamp(open.startedAt))"
                ))
        }
        if intervals.expiry != nil {
            work.close([.subStreamWithoutExpiry], on: key, streamLevel: false, at: now, because: "expiry set")
        } else if !key.isMain {
            work.raise(
                .subStreamWithoutExpiry, on: key, streamLevel: false,
                message: "sub-stream \(subStreamName(key)) has no expiry_interval_s: it will never expire",
                at: now
            )
        }
        sub.snapshotSequence += 1
        sub.openSnapshot = OpenSnapshot(startedAt: now, clean: work.errorsRaised(on: key) == errorMark)
        sub.deadlines.missingStop = now.addingTimeInterval(TimeInterval(2 * intervals.repeatInterval))
        if existing == nil || repeatChanged || sub.deadlines.lateData == nil {
            sub.deadlines.lateData = lateDeadline(
                from: sub.lastCompletedAt ?? sub.createdAt, repeatInterval: intervals.repeatInterval
            )
        }
        work.record(
            HealthEvent(
                at: now, kind: .snapshotStarted, urn: key.urn, subStreamId: key.subStreamId,
                detail: "snapshot \(sub.snapshotSequence)"
            ))
        return sub
    }

    /// Completes the open snapshot by a `stop_snapshot`: the diff, then the closing rules.
    private func completeSnapshot(
        of sub: inout SubStreamRecord,
        clean: Bool,
        at now: Date,
        work: WorkingSet
    ) throws(MissingRead) {
        let key = sub.key
        for state in try work.checkStates(of: key, notSeenIn: sub.snapshotSequence) {
            delete(state, reason: .snapshotDiff, at: now, metrics: &sub.metrics, work: work)
        }
        sub.openSnapshot = nil
        sub.lastCompletedAt = now
        sub.deadlines.missingStop = nil
        if let repeatInterval = sub.intervals?.repeatInterval {
            sub.deadlines.lateData = lateDeadline(from: now, repeatInterval: repeatInterval)
        }
        work.record(
            HealthEvent(
                at: now, kind: .snapshotCompleted, urn: key.urn, subStreamId: key.subStreamId,
                detail: clean ? "clean" : "unclean"
            ))
        work.close([.subStreamLateData], on: key, streamLevel: false, at: now, because: "snapshot completed")
        if clean {
            let cause = "clean snapshot completed"
            work.close(StreamErrorCode.closedByCleanSnapshot, on: key, streamLevel: false, at: now, because: cause)
            work.close(StreamErrorCode.closedByCleanSnapshot, on: key, streamLevel: true, at: now, because: cause)
        }
    }
}

/// A sub-stream as messages name it: `main` or its quoted id.
func subStreamName(_ key: StreamKey) -> String {
    key.isMain ? "main" : "\"\(key.subStreamId)\""
}

/// A time as messages write it: ISO-8601 in UTC (`2023-11-19T13:20:30Z`), with milliseconds only when there is a
/// fraction — the format of the command line's tables, so that a message reads like the columns beside it.
func timestamp(_ date: Date) -> String {
    let fractional = date.timeIntervalSince1970.rounded(.down) != date.timeIntervalSince1970
    return date.formatted(fractional ? messageTimeWithFraction : messageTime)
}

/// A length of time as messages write it: whole seconds as `90 s`, fractions with up to three decimals.
func seconds(_ interval: TimeInterval) -> String {
    if interval == interval.rounded() && abs(interval) < 1e15 { return "\(Int64(interval)) s" }
    return interval.formatted(.number.grouping(.never).precision(.fractionLength(0...3))) + " s"
}

private let messageTime = Date.ISO8601FormatStyle()
private let messageTimeWithFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
