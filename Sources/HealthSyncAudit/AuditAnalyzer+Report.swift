import Foundation
import HealthSync

extension AuditAnalyzer.Pass {
    /// Closes everything still open at the end of the period and assembles the report.
    func finish() -> AuditReport {
        var streams: [String: [SubStreamAudit]] = [:]
        var summary = AuditReport.Summary()
        for key in subStreams.keys.sorted() {
            guard let sub = subStreams[key], let audit = finish(sub) else { continue }
            streams[key.urn, default: []].append(audit)
        }
        let audits = streams.keys.sorted().map { urn in
            StreamAudit(urn: urn, consistencyModel: models[urn], subStreams: streams[urn] ?? [])
        }
        summary.streams = audits.count
        for stream in audits {
            for sub in stream.subStreams {
                summary.subStreams += 1
                summary.checkStates += sub.checkStates.count
                summary.snapshotsCompleted += sub.snapshots.completed
                summary.lateWindows += sub.lateWindows.count
                summary.missingStops += sub.missingStops.count
                summary.subStreamExpiries += sub.expiries.filter { $0.kind == .subStream }.count
                summary.checkStateExpiries += sub.expiries.filter { $0.kind == .checkStates }
                    .reduce(0) { $0 + $1.checkStateIds.count }
                summary.suspiciousDeletions += sub.suspiciousDeletions.count
                summary.flappingCheckStates += sub.checkStates.filter(\.flapped).count
                summary.errors += sub.errors.reduce(0) { $0 + $1.episodes.count }
                summary.openErrors += sub.errors.filter(\.isOpen).count
            }
        }
        summary.rejections = input.findings.filter { $0.severity == .rejection }.count
        summary.warnings = input.findings.filter { $0.severity == .warning }.count
        return AuditReport(
            source: input.source,
            period: period,
            configuration: configuration,
            summary: summary,
            attention: AuditAnalyzer.attention(streams: audits, findings: input.findings, configuration: configuration),
            streams: audits,
            findings: input.findings
        )
    }

    /// The audit of one sub-stream, or `nil` when nothing about it falls in the period.
    func finish(_ sub: AuditAnalyzer.SubStreamAccumulator) -> SubStreamAudit? {
        let key = sub.key
        let intervals = input.intervals[key]
        let snapshots = isSnapshots(key)

        // Late windows still open at the end.
        if snapshots, sub.exists, let base = sub.lateBase, let repeatInterval = intervals?.repeatInterval {
            let deadline = base.addingTimeInterval(TimeInterval(repeatInterval) + configuration.lateGrace)
            if period.to > deadline {
                addLateWindow(to: sub, from: deadline, to: period.to, repeatInterval: repeatInterval, open: true)
            }
        }

        // Check states: the last segment, the last REPEAT_STATES samples, the open flapping period.
        let flapApplies = snapshots || repeatStatesInterval(of: key) != nil
        var checkStates: [CheckStateAudit] = []
        for id in sub.checkStates.keys.sorted() {
            guard let checkState = sub.checkStates[id] else { continue }
            if checkState.alive, let next = checkState.nextSample, let interval = repeatStatesInterval(of: key),
                period.to >= next
            {
                let count = Int((period.to.timeIntervalSince(next) / TimeInterval(interval)).rounded(.down)) + 1
                checkState.observe(count: count, at: next, in: period)
            }
            checkState.closeSegment(at: period.to, in: period)
            if let since = checkState.flappingSince {
                checkState.addFlappingPeriod(from: since, to: nil, in: period)
            }
            guard checkState.seenInPeriod || !checkState.segments.isEmpty || checkState.alive else { continue }
            checkStates.append(checkState.result(in: period, flapApplies: flapApplies))
        }

        let errors = errorHistories(of: sub, repeatInterval: intervals?.repeatInterval)
        if !snapshots || intervals == nil {
            // No derivation from completions: the spans in which SubStreamLateData was open.
            for history in errors where history.code == .subStreamLateData {
                for episode in history.episodes {
                    addLateWindow(
                        to: sub, from: episode.from, to: episode.to ?? period.to,
                        repeatInterval: intervals?.repeatInterval, open: episode.to == nil)
                }
            }
        }

        let audit = SubStreamAudit(
            subStreamId: key.publicSubStreamId,
            repeatInterval: intervals?.repeatInterval,
            expiryInterval: intervals?.expiry,
            snapshots: sub.snapshots,
            cadence: SubStreamAudit.Cadence(sub.cadence),
            lateWindows: sub.lateWindows.sorted { $0.from < $1.from },
            missingStops: sub.missingStops,
            expiries: sub.expiries,
            errors: errors,
            suspiciousDeletions: sub.suspicious,
            checkStates: checkStates
        )
        let active =
            !checkStates.isEmpty || sub.snapshots != SubStreamAudit.Snapshots() || !audit.lateWindows.isEmpty
            || !audit.missingStops.isEmpty || !audit.expiries.isEmpty || !errors.isEmpty || sub.exists
        return active ? audit : nil
    }

    /// The error histories of a sub-stream with episodes in the period; open episodes take their count from the
    /// store's open record, `SubStreamLateData` from its missed deadlines, any other episode counts one.
    func errorHistories(
        of sub: AuditAnalyzer.SubStreamAccumulator, repeatInterval: Int?
    ) -> [SubStreamAudit.ErrorHistory] {
        var accumulators = sub.errors
        let records = input.openErrors.filter { $0.key.urn == sub.key.urn && $0.key.subStreamId == sub.key.subStreamId }
        for record in records {
            let name = AuditAnalyzer.Pass.errorName(record.code, streamLevel: record.key.streamLevel)
            let hasOpen = accumulators.values.contains { $0.code == record.code && $0.episodes.last?.to == nil }
            guard !hasOpen else { continue }
            // Opened before the retained record.
            var history =
                accumulators[name]
                ?? AuditAnalyzer.ErrorAccumulator(code: record.code, streamLevel: record.key.streamLevel)
            history.episodes.append(TimeSpan(from: record.firstSeenAt, to: nil))
            history.message = record.message
            accumulators[name] = history
        }
        var histories: [SubStreamAudit.ErrorHistory] = []
        for name in accumulators.keys.sorted() {
            guard let accumulator = accumulators[name] else { continue }
            let episodes = accumulator.episodes.filter { ($0.to ?? period.to) >= period.from }
            guard !episodes.isEmpty else { continue }
            let record =
                records.first { $0.code == accumulator.code && $0.key.streamLevel == accumulator.streamLevel }
                ?? records.first { $0.code == accumulator.code }
            var count = 0
            for episode in episodes {
                if episode.to == nil, let record {
                    count += Int(record.count)
                } else if accumulator.code == .subStreamLateData, let repeatInterval {
                    let length = (episode.to ?? period.to).timeIntervalSince(episode.from)
                    count += max(1, Int((length / TimeInterval(repeatInterval)).rounded(.up)))
                } else {
                    count += 1
                }
            }
            histories.append(
                SubStreamAudit.ErrorHistory(
                    code: accumulator.code, level: accumulator.code.level, streamLevel: accumulator.streamLevel,
                    count: count, episodes: episodes, message: record?.message ?? accumulator.message))
        }
        return histories
    }
}
