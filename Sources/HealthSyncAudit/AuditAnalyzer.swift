import Foundation
import HealthSync

/// Turns an ``AuditInput`` into an ``AuditReport``: one pass over the event record, in record order.
///
/// A pure function of its input and ``configuration``; the definitions of every figure are in `Docs/audit.md`:
///
/// - **cadence**: the intervals between consecutive `snapshotCompleted` events of a sub-stream (REPEAT_SNAPSHOTS);
///   REPEAT_STATES records no event per message, so it has no cadence;
/// - **late windows**: from `lastCompleted + repeat + lateGrace` (before the first completion, the sub-stream's
///   creation) to the next completion, or the end of the period; where the repeat interval is unknown, and for
///   REPEAT_STATES, the spans in which `SubStreamLateData` was open;
/// - **flap score**: ``FlapDetection`` over one observation per completed snapshot that carried the check state
///   (its health in effect after the snapshot), or for REPEAT_STATES one per declared repeat interval;
/// - **suspicious deletion**: a deletion by a snapshot diff or an automatic stop whose check state is created again
///   in one of the next ``AuditConfiguration/suspiciousWithinSnapshots`` snapshots.
///
/// ```swift
/// let input = try await AuditInput.replay([source])
/// let report = AuditAnalyzer().analyze(input)
/// print(TextReportRenderer().render(report))
/// ```
public struct AuditAnalyzer: Sendable {
    /// The settings.
    public var configuration: AuditConfiguration

    /// Creates an analyzer.
    public init(configuration: AuditConfiguration = AuditConfiguration()) {
        self.configuration = configuration
    }

    /// Analyses `input`.
    public func analyze(_ input: AuditInput) -> AuditReport {
        var pass = Pass(input: input, configuration: configuration)
        for event in input.events {
            guard event.at <= input.period.to else { break }
            pass.apply(event)
        }
        return pass.finish()
    }
}

extension AuditAnalyzer {
    /// The state of one analysis.
    struct Pass {
        let input: AuditInput
        let configuration: AuditConfiguration
        let period: AuditReport.Period
        var models: [String: ConsistencyModel]
        var subStreams: [StreamKey: SubStreamAccumulator] = [:]
        var urns: Set<String> = []
        /// Sub-streams with a `subStreamCreated` event: the others existed before the record starts when the store
        /// still has them.
        let createdInRecord: Set<StreamKey>

        init(input: AuditInput, configuration: AuditConfiguration) {
            self.input = input
            self.configuration = configuration
            period = input.period
            models = input.consistencyModels
            createdInRecord = Set(
                input.events.lazy.filter { $0.kind == .subStreamCreated }.map {
                    StreamKey(urn: $0.urn, subStreamId: $0.subStreamId)
                })
        }

        mutating func subStream(_ key: StreamKey) -> SubStreamAccumulator {
            if let existing = subStreams[key] { return existing }
            let created = SubStreamAccumulator(key: key)
            created.exists = !createdInRecord.contains(key) && input.intervals[key] != nil
            subStreams[key] = created
            urns.insert(key.urn)
            return created
        }

        func repeatInterval(of key: StreamKey) -> Int? { input.intervals[key]?.repeatInterval }

        // MARK: Events

        mutating func apply(_ event: HealthEvent) {
            let inPeriod = event.at >= period.from
            let key = StreamKey(urn: event.urn, subStreamId: event.subStreamId)
            switch event.kind {
            case .streamCreated:
                urns.insert(event.urn)
                if let model = event.detail.flatMap(ConsistencyModel.init(rawValue:)) { models[event.urn] = model }
            case .streamDeleted:
                for (key, sub) in subStreams where key.urn == event.urn { endLife(of: sub, at: event.at) }
            case .subStreamCreated:
                let sub = subStream(key)
                sub.exists = true
                sub.lateBase = event.at
            case .subStreamExpired:
                let sub = subStream(key)
                if inPeriod {
                    sub.expiries.append(
                        SubStreamAudit.Expiry(
                            kind: .subStream, at: event.at, checkStateIds: sub.expiryDeletions.sorted())
                    )
                }
                sub.expiryDeletions = []
                endLife(of: sub, at: event.at)
            case .snapshotStarted:
                let sub = subStream(key)
                if models[key.urn] == nil { models[key.urn] = .repeatSnapshots }
                sub.exists = true
                sub.startedTotal += 1
                sub.lastStartedAt = event.at
                if inPeriod { sub.snapshots.started += 1 }
            case .snapshotCompleted:
                if models[key.urn] == nil { models[key.urn] = .repeatSnapshots }
                let sub = subStream(key)
                completeSnapshot(of: sub, at: event.at, clean: event.detail == "clean", inPeriod: inPeriod)
            case .snapshotAbandoned:
                if inPeriod { subStream(key).snapshots.abandoned += 1 }
            case .snapshotAutoStopped:
                let sub = subStream(key)
                if inPeriod {
                    sub.snapshots.automaticallyStopped += 1
                    sub.missingStops.append(
                        SubStreamAudit.MissingStop(
                            at: event.at, snapshotStartedAt: sub.lastStartedAt,
                            deletedCheckStateIds: sub.autoStopDeletions.sorted()))
                }
                sub.autoStopDeletions = []
            case .checkStateCreated, .checkStateUpdated, .checkStateDeleted:
                let sub = subStream(key)
                applyCheckState(event, to: sub, inPeriod: inPeriod)
            case .errorOpened, .errorClosed:
                let sub = subStream(key)
                applyError(event, to: sub)
            }
        }

        /// The sub-stream was removed (expired, or its stream deleted): a late window ends, the suspicious-deletion
        /// watch stops.
        func endLife(of sub: SubStreamAccumulator, at time: Date) {
            if let base = sub.lateBase, let repeatInterval = repeatInterval(of: sub.key), isSnapshots(sub.key) {
                let deadline = base.addingTimeInterval(TimeInterval(repeatInterval) + configuration.lateGrace)
                if time > deadline {
                    addLateWindow(to: sub, from: deadline, to: time, repeatInterval: repeatInterval, open: false)
                }
            }
            sub.exists = false
            sub.lateBase = nil
            sub.lastCompletion = nil
            sub.pendingDeletions = [:]
        }

        func isSnapshots(_ key: StreamKey) -> Bool { models[key.urn] == .repeatSnapshots }

        func completeSnapshot(of sub: SubStreamAccumulator, at time: Date, clean: Bool, inPeriod: Bool) {
            sub.exists = true
            if inPeriod {
                sub.snapshots.completed += 1
                if clean { sub.snapshots.clean += 1 }
                if let last = sub.lastCompletion, last >= period.from {
                    sub.cadence.append(time.timeIntervalSince(last))
                }
            }
            if let base = sub.lateBase, let repeatInterval = repeatInterval(of: sub.key) {
                let deadline = base.addingTimeInterval(TimeInterval(repeatInterval) + configuration.lateGrace)
                if time > deadline {
                    addLateWindow(to: sub, from: deadline, to: time, repeatInterval: repeatInterval, open: false)
                }
            }
            sub.lastCompletion = time
            sub.lateBase = time
            for checkState in sub.alive.values { checkState.observe(at: time, in: period) }
        }

        func addLateWindow(
            to sub: SubStreamAccumulator, from deadline: Date, to end: Date, repeatInterval: Int?, open: Bool
        ) {
            let from = max(deadline, period.from)
            let to = min(end, period.to)
            guard to > from else { return }
            let missed = repeatInterval.map { interval in
                max(1, Int((end.timeIntervalSince(deadline) / TimeInterval(interval)).rounded(.up)))
            }
            sub.lateWindows.append(SubStreamAudit.LateWindow(from: from, to: to, missedDeadlines: missed, open: open))
        }

        // MARK: Check states

        func applyCheckState(_ event: HealthEvent, to sub: SubStreamAccumulator, inPeriod: Bool) {
            guard let values = event.checkState else { return }
            let id = values.checkStateId
            let checkState: CheckStateAccumulator
            if let existing = sub.checkStates[id] {
                checkState = existing
            } else {
                checkState = CheckStateAccumulator(
                    checkState: values, at: event.at, detection: configuration.flapDetection)
                sub.checkStates[id] = checkState
                // An update or a deletion of a check state the record never created: it existed before the record.
                checkState.alive = event.kind != .checkStateCreated
                if let previous = event.previousHealth { checkState.health = previous }
            }
            sub.exists = true
            if inPeriod { checkState.seenInPeriod = true }
            catchUpSamples(of: checkState, in: sub.key, before: event.at)
            checkState.closeSegment(at: event.at, in: period)

            switch event.kind {
            case .checkStateCreated:
                checkState.alive = true
                if inPeriod { checkState.creations += 1 }
                if repeatStatesInterval(of: sub.key) != nil { checkState.nextSample = event.at }
                if let pending = sub.pendingDeletions.removeValue(forKey: id), pending.at >= period.from {
                    let later = sub.startedTotal - pending.startedBefore
                    if later <= configuration.suspiciousWithinSnapshots {
                        sub.suspicious.append(
                            SubStreamAudit.SuspiciousDeletion(
                                checkStateId: id, name: pending.name, deletedAt: pending.at, reason: pending.reason,
                                cameBackAt: event.at, snapshotsLater: max(1, later)))
                        checkState.suspiciousDeletions += 1
                    }
                }
            case .checkStateUpdated:
                if inPeriod && (event.previousHealth ?? checkState.health) != values.health {
                    checkState.transitions += 1
                }
                checkState.alive = true
            default:
                checkState.alive = false
                checkState.nextSample = nil
                if inPeriod { checkState.deletions += 1 }
                noteDeletion(of: checkState, reason: event.deletionReason, at: event.at, in: sub, inPeriod: inPeriod)
            }
            checkState.name = values.name
            checkState.health = values.health
            checkState.segmentStart = event.at
            sub.alive[id] = checkState.alive ? checkState : nil
        }

        func noteDeletion(
            of checkState: CheckStateAccumulator, reason: DeletionReason?, at time: Date, in sub: SubStreamAccumulator,
            inPeriod: Bool
        ) {
            let id = checkState.checkStateId
            switch reason {
            case .snapshotDiff?, .automaticStop?:
                if reason == .automaticStop { sub.autoStopDeletions.append(id) }
                sub.pendingDeletions[id] = PendingDeletion(
                    at: time, reason: reason ?? .snapshotDiff, name: checkState.name, startedBefore: sub.startedTotal)
            case .subStreamExpired?:
                sub.expiryDeletions.append(id)
            case .expiry?:
                guard inPeriod else { return }
                if var last = sub.expiries.last, last.kind == .checkStates, last.at == time {
                    last.checkStateIds.append(id)
                    last.checkStateIds.sort()
                    sub.expiries[sub.expiries.count - 1] = last
                } else {
                    sub.expiries.append(SubStreamAudit.Expiry(kind: .checkStates, at: time, checkStateIds: [id]))
                }
            default:
                break
            }
        }

        /// The repeat interval of a REPEAT_STATES sub-stream, whose observations are sampled at it.
        func repeatStatesInterval(of key: StreamKey) -> Int? {
            models[key.urn] == .repeatStates ? repeatInterval(of: key) : nil
        }

        /// REPEAT_STATES: observes the health in effect at every sample time before `time`.
        func catchUpSamples(of checkState: CheckStateAccumulator, in key: StreamKey, before time: Date) {
            guard checkState.alive, let next = checkState.nextSample, time > next,
                let interval = repeatStatesInterval(of: key).map(TimeInterval.init)
            else { return }
            let count = Int((time.timeIntervalSince(next) / interval).rounded(.up))
            checkState.observe(count: count, at: next, in: period)
            checkState.nextSample = next.addingTimeInterval(Double(count) * interval)
        }

        // MARK: Errors

        func applyError(_ event: HealthEvent, to sub: SubStreamAccumulator) {
            guard let code = event.errorCode else { return }
            if event.kind == .errorOpened {
                let streamLevel: Bool
                switch code {
                case .streamMissingSubStream, .streamConsistencyModelMismatch, .subStreamExpired: streamLevel = true
                case .subStreamRepeatIntervalTooHigh, .subStreamStopWithoutStart: streamLevel = !sub.exists
                default: streamLevel = false
                }
                let name = Self.errorName(code, streamLevel: streamLevel)
                var history = sub.errors[name] ?? ErrorAccumulator(code: code, streamLevel: streamLevel)
                history.episodes.append(TimeSpan(from: event.at, to: nil))
                history.message = event.detail
                sub.errors[name] = history
                return
            }
            // A close ends the oldest open episode of the code, at either level.
            var oldest: (name: String, index: Int, from: Date)?
            for (name, history) in sub.errors where history.code == code {
                for (index, episode) in history.episodes.enumerated() where episode.to == nil {
                    if oldest.map({ episode.from < $0.from }) ?? true { oldest = (name, index, episode.from) }
                }
            }
            if let oldest {
                sub.errors[oldest.name]?.episodes[oldest.index].to = event.at
            } else if event.at >= period.from {
                // Opened before the retained record: known to be open from the start of the period.
                let streamLevel =
                    code == .streamMissingSubStream || code == .streamConsistencyModelMismatch
                    || code == .subStreamExpired
                let name = Self.errorName(code, streamLevel: streamLevel)
                var history = sub.errors[name] ?? ErrorAccumulator(code: code, streamLevel: streamLevel)
                history.episodes.insert(TimeSpan(from: period.from, to: event.at), at: 0)
                sub.errors[name] = history
            }
        }

        static func errorName(_ code: StreamErrorCode, streamLevel: Bool) -> String {
            "\(streamLevel ? 0 : 1) \(code.rawValue)"
        }
    }
}
