import Foundation
import HealthSync

extension AuditAnalyzer {
    /// What needs attention, most urgent first (then in stream order): suspicious deletions, missing stops,
    /// `CRITICAL` check states, open `ERROR` errors and rejections; `DEVIATING` check states, late windows, slow
    /// cadence, expiries and flapping; open `WARN` errors, errors raised and closed again, and validation warnings.
    static func attention(
        streams: [StreamAudit],
        findings: [AuditReport.Finding],
        configuration: AuditConfiguration
    ) -> [AuditReport.Attention] {
        typealias Item = AuditReport.Attention
        var items: [Item] = []
        for stream in streams {
            for sub in stream.subStreams {
                func add(_ severity: Item.Severity, _ kind: Item.Kind, _ message: String) {
                    items.append(
                        Item(
                            severity: severity, kind: kind, urn: stream.urn, subStreamId: sub.subStreamId,
                            subStreamScoped: true, message: message))
                }
                if !sub.suspiciousDeletions.isEmpty {
                    // Grouped by the deletion that caused them: one truncated snapshot is one line.
                    var groups: [(reason: DeletionReason, at: Date, count: Int)] = []
                    for deletion in sub.suspiciousDeletions {
                        if let last = groups.last, last.reason == deletion.reason, last.at == deletion.deletedAt {
                            groups[groups.count - 1].count += 1
                        } else {
                            groups.append((deletion.reason, deletion.deletedAt, 1))
                        }
                    }
                    let described = groups.map {
                        "\($0.count) by \(AuditFormat.reason($0.reason)) at \(AuditFormat.time($0.at))"
                    }
                    let within = sub.suspiciousDeletions.map(\.snapshotsLater).max() ?? 1
                    add(
                        .critical, .suspiciousDeletions,
                        "\(AuditFormat.count(sub.suspiciousDeletions.count, "suspicious deletion")) (truncated "
                            + "snapshots?): \(AuditFormat.list(described, limit: 3)), back within "
                            + "\(AuditFormat.count(within, "snapshot"))")
                }
                if !sub.missingStops.isEmpty {
                    let deleted = sub.missingStops.reduce(0) { $0 + $1.deletedCheckStateIds.count }
                    let last = sub.missingStops[sub.missingStops.count - 1]
                    add(
                        deleted > 0 ? .critical : .warning, .missingStops,
                        "\(AuditFormat.count(sub.missingStops.count, "snapshot")) without stop_snapshot, stopped "
                            + "automatically (last at \(AuditFormat.time(last.at))); the automatic stops deleted "
                            + AuditFormat.count(deleted, "check state"))
                }
                for (health, severity, kind) in [
                    (Health.critical, Item.Severity.critical, Item.Kind.criticalCheckStates),
                    (.deviating, .warning, .deviatingCheckStates),
                ] {
                    let states = sub.checkStates.filter { $0.health == health }
                    guard !states.isEmpty else { continue }
                    let described = states.map { state in
                        state.checkStateId + (state.healthSince.map { " since \(AuditFormat.time($0))" } ?? "")
                    }
                    add(
                        severity, kind,
                        "\(AuditFormat.count(states.count, "check state")) \(health.rawValue) at the end: "
                            + AuditFormat.list(described, limit: 4))
                }
                let open = sub.errors.filter(\.isOpen)
                let openErrors = open.filter { $0.level == .error }
                if !openErrors.isEmpty {
                    add(.critical, .openErrors, "open errors: " + describe(openErrors))
                }
                if !sub.lateWindows.isEmpty {
                    let total = sub.lateWindows.reduce(0) { $0 + $1.length }
                    let longest = sub.lateWindows.max { $0.length < $1.length } ?? sub.lateWindows[0]
                    let still = sub.lateWindows.last?.open == true ? "; still late at the end" : ""
                    add(
                        .warning, .lateWindows,
                        "late \(AuditFormat.count(sub.lateWindows.count, "time")) for "
                            + "\(AuditFormat.duration(total)) in all (longest \(AuditFormat.duration(longest.length)) "
                            + "from \(AuditFormat.time(longest.from)))\(still)")
                }
                if let cadence = sub.cadence, let repeatInterval = sub.repeatInterval,
                    cadence.p95 > Double(repeatInterval) + configuration.lateGrace
                {
                    add(
                        .warning, .slowCadence,
                        "snapshots completed every \(AuditFormat.duration(cadence.median)) (median; p95 "
                            + "\(AuditFormat.duration(cadence.p95)), max \(AuditFormat.duration(cadence.maximum))) "
                            + "against a declared repeat of \(AuditFormat.duration(Double(repeatInterval)))")
                }
                let subStreamExpiries = sub.expiries.filter { $0.kind == .subStream }
                if let last = subStreamExpiries.last {
                    let deleted = subStreamExpiries.reduce(0) { $0 + $1.checkStateIds.count }
                    add(
                        .warning, .expiries,
                        "expired \(AuditFormat.count(subStreamExpiries.count, "time")) (last at "
                            + "\(AuditFormat.time(last.at))), taking \(AuditFormat.count(deleted, "check state")) along"
                    )
                }
                let flapped = sub.checkStates.filter(\.flapped)
                if !flapped.isEmpty {
                    let described = flapped.sorted { ($0.flap?.maximum ?? 0) > ($1.flap?.maximum ?? 0) }.map {
                        "\($0.checkStateId) (\(AuditFormat.percent($0.flap?.maximum ?? 0))"
                            + "\($0.flap?.flapping == true ? ", still flapping" : ""))"
                    }
                    add(
                        .warning, .flapping,
                        "\(AuditFormat.count(flapped.count, "check state")) flapped: "
                            + AuditFormat.list(described, limit: 4))
                }
                let openWarnings = open.filter { $0.level == .warn }
                if !openWarnings.isEmpty {
                    add(.notice, .openWarnings, "open warnings: " + describe(openWarnings))
                }
                // Errors already named above (late data, missing stops, expiries) are not repeated.
                let named: Set<StreamErrorCode> = [.subStreamLateData, .subStreamMissingStop, .subStreamExpired]
                let closed = sub.errors.filter { !$0.isOpen && !named.contains($0.code) }
                if !closed.isEmpty {
                    let described = closed.map { "\($0.code.rawValue) ×\($0.count)" }
                    add(.notice, .closedErrors, "errors raised and closed again: " + described.joined(separator: ", "))
                }
            }
        }
        let rejections = findings.filter { $0.severity == .rejection }
        if let first = rejections.first {
            items.append(
                Item(
                    severity: .critical, kind: .rejections, urn: nil, subStreamId: nil, subStreamScoped: false,
                    message: "\(AuditFormat.count(rejections.count, "rejection")) in the payloads (first: "
                        + "\(first.location): \(first.path): \(first.reason))"))
        }
        let warnings = findings.filter { $0.severity == .warning }
        if let first = warnings.first {
            items.append(
                Item(
                    severity: .notice, kind: .validationWarnings, urn: nil, subStreamId: nil, subStreamScoped: false,
                    message: "\(AuditFormat.count(warnings.count, "validation warning")) (dropped check states or "
                        + "unknown keys; first: \(first.location): \(first.path): \(first.reason))"))
        }
        return items.enumerated().sorted { ($0.element.severity, $0.offset) < ($1.element.severity, $1.offset) }
            .map(\.element)
    }

    /// `CODE ×count since TIME`, joined.
    private static func describe(_ errors: [SubStreamAudit.ErrorHistory]) -> String {
        errors.map { error in
            let since = error.episodes.last.map { " since \(AuditFormat.time($0.from))" } ?? ""
            let level = error.streamLevel ? " (stream level)" : ""
            return "\(error.code.rawValue) ×\(error.count)\(since)\(level)"
        }.joined(separator: ", ")
    }
}
