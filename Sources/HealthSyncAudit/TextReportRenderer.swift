import Foundation
import HealthSync
import HealthSyncConsole

/// Renders an ``AuditReport`` as text for a terminal: a header, what needs attention, then per stream the
/// sub-stream table and the tables of late windows, missing stops, expiries, suspicious deletions, errors and the
/// notable check states, then the validation findings.
///
/// Long tables are cut to ``rowLimit`` rows with a line saying how many more there are; the JSON and HTML formats
/// have everything.
public struct TextReportRenderer: Sendable {
    /// The most rows a detail table shows.
    public var rowLimit: Int
    /// The width attention lines are wrapped to.
    public var width: Int

    /// Creates a renderer.
    public init(rowLimit: Int = 12, width: Int = 120) {
        self.rowLimit = max(1, rowLimit)
        self.width = max(40, width)
    }

    /// The report as text, ending without a newline.
    public func render(_ report: AuditReport) -> String {
        var sections = [header(report), healthNow(report), attention(report)]
        for stream in report.streams { sections.append(self.stream(stream)) }
        if !report.findings.isEmpty { sections.append(findings(report.findings)) }
        return sections.joined(separator: "\n\n")
    }

    private func header(_ report: AuditReport) -> String {
        let summary = report.summary
        let period = report.period
        return """
            HealthSync audit of \(report.source)
            period  \(AuditFormat.time(period.from)) to \(AuditFormat.time(period.to)) \
            (\(AuditFormat.duration(period.length)))
            scope   \(AuditFormat.count(summary.streams, "stream")), \
            \(AuditFormat.count(summary.subStreams, "sub-stream")), \
            \(AuditFormat.count(summary.checkStates, "check state")), \
            \(AuditFormat.count(summary.snapshotsCompleted, "snapshot")) completed
            """
    }

    /// The counts of check states by health at the end, and the ones not `CLEAR` (cut to ``rowLimit``).
    private func healthNow(_ report: AuditReport) -> String {
        let now = report.healthNow
        guard now.total > 0 else { return "HEALTH AT THE END: no check states" }
        var lines = [
            "HEALTH AT THE END: \(now.critical) CRITICAL, \(now.deviating) DEVIATING, \(now.clear) CLEAR "
                + "(\(AuditFormat.count(now.total, "check state")))"
        ]
        guard !now.unhealthy.isEmpty else { return lines[0] }
        var table = TextTable(headers: ["HEALTH", "STREAM", "CHECK STATE", "NAME", "SINCE"])
        for state in now.unhealthy.prefix(rowLimit) {
            table.append([
                state.health.rawValue, AuditFormat.scope(state.urn, state.subStreamId), state.checkStateId,
                state.name, state.since.map(AuditFormat.time),
            ])
        }
        lines.append(table.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        if now.unhealthy.count > rowLimit { lines.append("  … and \(now.unhealthy.count - rowLimit) more") }
        return lines.joined(separator: "\n")
    }

    private func attention(_ report: AuditReport) -> String {
        guard !report.attention.isEmpty else { return "NEEDS ATTENTION: nothing" }
        var lines = ["NEEDS ATTENTION (\(report.attention.count))"]
        for item in report.attention {
            let scope = item.urn.map { AuditFormat.scope($0, item.subStreamScoped ? item.subStreamId : nil) }
            let prefix = "  \(item.severity.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0))  "
            lines += wrap((scope.map { "\($0): " } ?? "") + item.message, after: prefix)
        }
        return lines.joined(separator: "\n")
    }

    /// `prefix` and `text` (its line breaks as spaces, its control characters written out) cut at spaces into lines
    /// of at most ``width`` terminal columns (a longer word stays whole);
    /// the lines after the first are indented to the end of `prefix`.
    func wrap(_ text: String, after prefix: String) -> [String] {
        let indent = String(repeating: " ", count: TerminalText.width(prefix))
        var lines: [String] = []
        var line = prefix
        var lineWidth = TerminalText.width(prefix)
        var empty = true
        let words = text.split(whereSeparator: \.isNewline).joined(separator: " ").split(separator: " ")
        for word in words.map({ TerminalText.escaped(String($0)) }) {
            let wordWidth = TerminalText.width(word)
            if !empty && lineWidth + 1 + wordWidth > width {
                lines.append(line)
                line = indent + word
                lineWidth = indent.count + wordWidth
            } else {
                line += (empty ? "" : " ") + word
                lineWidth += (empty ? 0 : 1) + wordWidth
            }
            empty = false
        }
        lines.append(line)
        return lines
    }

    private func stream(_ stream: StreamAudit) -> String {
        var lines = ["STREAM \(stream.urn) (\(stream.consistencyModel?.rawValue ?? "model unknown"))"]
        var overview = TextTable(headers: [
            "SUB-STREAM", "REPEAT", "SNAPSHOTS", "CADENCE MIN/MED/P95/MAX", "LATE", "MISSING STOPS",
            "EXPIRIES", "ERRORS", "CHECKS",
        ])
        for sub in stream.subStreams {
            let snapshots = sub.snapshots
            let cadence = sub.cadence.map { cadence in
                [cadence.minimum, cadence.median, cadence.p95, cadence.maximum].map(AuditFormat.duration)
                    .joined(separator: "/")
            }
            let late =
                sub.lateWindows.isEmpty
                ? "0"
                : "\(sub.lateWindows.count) (\(AuditFormat.duration(sub.lateWindows.reduce(0) { $0 + $1.length })))"
            let deleted = sub.missingStops.reduce(0) { $0 + $1.deletedCheckStateIds.count }
            overview.append([
                sub.displayName,
                sub.repeatInterval.map { AuditFormat.duration(Double($0)) },
                stream.consistencyModel == .repeatSnapshots || snapshots.started > 0
                    ? "\(snapshots.completed) (\(snapshots.clean) clean)" : nil,
                cadence,
                late,
                sub.missingStops.isEmpty ? "0" : "\(sub.missingStops.count) (\(deleted) deleted)",
                String(sub.expiries.count),
                String(sub.errors.reduce(0) { $0 + $1.count }),
                String(sub.checkStates.count),
            ])
        }
        lines.append(indent(overview.render()))

        var late = TextTable(headers: ["SUB-STREAM", "LATE FROM", "TO", "LENGTH", "MISSED"])
        var stops = TextTable(headers: ["SUB-STREAM", "STOPPED AT", "STARTED AT", "DELETED"])
        var expiries = TextTable(headers: ["SUB-STREAM", "EXPIRED AT", "WHAT", "CHECK STATES"])
        var suspicious = TextTable(headers: [
            "SUB-STREAM", "CHECK STATE", "DELETED AT", "BY", "BACK AT", "SNAPSHOTS LATER",
        ])
        var errors = TextTable(headers: ["SUB-STREAM", "CODE", "LEVEL", "SCOPE", "COUNT", "FIRST", "LAST", "STATUS"])
        for sub in stream.subStreams {
            let name = sub.displayName
            for window in sub.lateWindows {
                late.append([
                    name, AuditFormat.time(window.from), window.open ? "(open)" : AuditFormat.time(window.to),
                    AuditFormat.duration(window.length), window.missedDeadlines.map(String.init),
                ])
            }
            for stop in sub.missingStops {
                stops.append([
                    name, AuditFormat.time(stop.at), stop.snapshotStartedAt.map(AuditFormat.time),
                    stop.deletedCheckStateIds.isEmpty ? "0" : AuditFormat.list(stop.deletedCheckStateIds, limit: 4),
                ])
            }
            for expiry in sub.expiries {
                expiries.append([
                    name, AuditFormat.time(expiry.at), expiry.kind == .subStream ? "sub-stream" : "check states",
                    expiry.checkStateIds.isEmpty ? "0" : AuditFormat.list(expiry.checkStateIds, limit: 4),
                ])
            }
            for deletion in sub.suspiciousDeletions {
                suspicious.append([
                    name, deletion.checkStateId, AuditFormat.time(deletion.deletedAt),
                    AuditFormat.reason(deletion.reason), AuditFormat.time(deletion.cameBackAt),
                    String(deletion.snapshotsLater),
                ])
            }
            for error in sub.errors {
                let last = error.episodes.last
                errors.append([
                    name, error.code.rawValue, error.level.rawValue, error.streamLevel ? "stream" : "sub-stream",
                    String(error.count), error.firstAt.map(AuditFormat.time),
                    last.map { AuditFormat.time($0.to ?? $0.from) },
                    error.isOpen ? "open" : "closed ×\(error.episodes.count)",
                ])
            }
        }
        for (title, table) in [
            ("suspicious deletions", suspicious), ("missing stops", stops), ("late windows", late),
            ("expiries", expiries), ("errors", errors),
        ] where !table.rows.isEmpty {
            lines.append("")
            lines.append("  \(title)")
            lines.append(indent(limited(table)))
        }

        let checkStates = stream.subStreams.flatMap { sub in sub.checkStates.map { (sub.displayName, $0) } }
        let notable = checkStates.filter { $0.1.isNotable }.sorted { Self.interest($0.1) > Self.interest($1.1) }
        lines.append("")
        if notable.isEmpty {
            lines.append("  check states: \(checkStates.count), all CLEAR throughout without changes")
        } else {
            lines.append("  check states (\(notable.count) notable of \(checkStates.count))")
            var table = TextTable(headers: [
                "SUB-STREAM", "CHECK STATE", "HEALTH", "CLEAR", "DEVIATING", "CRITICAL", "TRANSITIONS", "FLAP",
                "DELETIONS",
            ])
            for (name, state) in notable {
                let flap = state.flap.map { flap in
                    AuditFormat.percent(flap.maximum) + (flap.flapping ? " flapping" : state.flapped ? " flapped" : "")
                }
                table.append([
                    name, state.checkStateId, state.health?.rawValue ?? "(deleted)",
                    Self.share(state.timeInHealth.clear), Self.share(state.timeInHealth.deviating),
                    Self.share(state.timeInHealth.critical), String(state.transitions), flap,
                    state.suspiciousDeletions > 0
                        ? "\(state.deletions) (\(state.suspiciousDeletions) suspicious)" : String(state.deletions),
                ])
            }
            lines.append(indent(limited(table)))
        }
        return lines.joined(separator: "\n")
    }

    private func findings(_ findings: [AuditReport.Finding]) -> String {
        var lines = ["FINDINGS (\(findings.count))"]
        for finding in findings.prefix(rowLimit * 4) {
            var reason = finding.reason
            if let column = finding.column { reason = "column \(column): \(reason)" }
            if let value = finding.value { reason += " (found \(value))" }
            let kind = finding.severity == .rejection ? "rejected" : "warning"
            lines.append("  \(kind)  \(finding.location): \(finding.path): \(reason)")
        }
        if findings.count > rowLimit * 4 { lines.append("  … \(findings.count - rowLimit * 4) more") }
        return lines.joined(separator: "\n")
    }

    /// Orders check states by how much they need a look.
    static func interest(_ state: CheckStateAudit) -> Double {
        var score = 0.0
        if state.flapped { score += 1_000_000 }
        score += Double(state.suspiciousDeletions) * 100_000
        score += Double(state.transitions) * 1_000
        score += Double(state.deletions) * 100
        score += (state.timeInHealth.critical * 2 + state.timeInHealth.deviating) / max(1, state.timeInHealth.total)
        return score
    }

    private static func share(_ seconds: Double) -> String? {
        seconds > 0 ? AuditFormat.duration(seconds) : nil
    }

    private func limited(_ table: TextTable) -> String {
        guard table.rows.count > rowLimit else { return table.render() }
        var cut = table
        cut.rows = Array(table.rows.prefix(rowLimit))
        return cut.render() + "\n… \(table.rows.count - rowLimit) more (see --format json or html)"
    }

    private func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
