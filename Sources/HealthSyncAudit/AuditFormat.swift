import Foundation
import HealthSync

/// How reports write times, durations, percentages and lists.
enum AuditFormat {
    /// ISO-8601 in UTC, with milliseconds only when there is a fraction: `2023-11-18T09:36:40Z`.
    static func time(_ date: Date) -> String {
        let fractional = date.timeIntervalSince1970.rounded(.down) != date.timeIntervalSince1970
        return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: fractional))
    }

    /// A duration in the two largest units: `45s`, `1m 30s`, `2h 5m`, `3d 4h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        if seconds < 60 {
            return seconds.formatted(.number.grouping(.never).precision(.fractionLength(0...1))) + "s"
        }
        let total = Int(seconds.rounded())
        let days = total / 86_400
        let hours = total % 86_400 / 3_600
        let minutes = total % 3_600 / 60
        let rest = total % 60
        if days > 0 { return hours > 0 ? "\(days)d \(hours)h" : "\(days)d" }
        if hours > 0 { return minutes > 0 ? "\(hours)h \(minutes)m" : "\(hours)h" }
        return rest > 0 ? "\(minutes)m \(rest)s" : "\(minutes)m"
    }

    /// A percentage with at most one decimal: `55.3%`.
    static func percent(_ value: Double) -> String {
        value.formatted(.number.grouping(.never).precision(.fractionLength(0...1))) + "%"
    }

    /// A count with its noun: `1 snapshot`, `2 snapshots`.
    static func count(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(plural ?? noun + "s")"
    }

    /// The first `limit` items joined by commas, then `and N more`.
    static func list(_ items: [String], limit: Int = 5) -> String {
        guard items.count > limit else { return items.joined(separator: ", ") }
        return items.prefix(limit).joined(separator: ", ") + " and \(items.count - limit) more"
    }

    /// A deletion reason in words.
    static func reason(_ reason: DeletionReason) -> String {
        switch reason {
        case .snapshotDiff: "snapshot diff"
        case .automaticStop: "automatic stop"
        case .expiry: "expiry"
        case .subStreamExpired: "sub-stream expired"
        case .streamDeleted: "stream deleted"
        case .deleteRequest: "delete request"
        }
    }

    /// `urn` or `urn [sub]`.
    static func scope(_ urn: String, _ subStreamId: String?) -> String {
        subStreamId.map { "\(urn) [\($0)]" } ?? urn
    }
}
