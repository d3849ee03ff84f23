import Foundation
import HealthSync

/// The result of an audit: per stream and sub-stream, snapshots, cadence, late windows, missing stops, expiries,
/// errors and suspicious deletions; per check state, time in each health, transitions and flapping; the validation
/// findings of a replay; and, first, what needs attention.
///
/// ``AuditAnalyzer`` builds it; ``TextReportRenderer`` and ``HTMLReportRenderer`` present it; its JSON encoding
/// (``jsonData()``) is the `--format json` contract of `healthsync audit`: keys as the properties are named, times
/// as epoch seconds, durations in seconds, `subStreamId` `null` for the main sub-stream, absent values explicit
/// `null`s. Definitions are in `Docs/audit.md`.
public struct AuditReport: Sendable, Hashable, Codable {
    /// The audited period.
    public struct Period: Sendable, Hashable, Codable {
        /// Its start.
        public var from: Date
        /// Its end.
        public var to: Date

        /// Creates a period.
        public init(from: Date, to: Date) {
            self.from = from
            self.to = to
        }

        /// Its length in seconds.
        public var length: TimeInterval { to.timeIntervalSince(from) }
    }

    /// The counts of the whole report.
    public struct Summary: Sendable, Hashable, Codable {
        /// Streams audited.
        public var streams = 0
        /// Sub-streams audited.
        public var subStreams = 0
        /// Check states seen in the period.
        public var checkStates = 0
        /// Snapshots completed by a `stop_snapshot`.
        public var snapshotsCompleted = 0
        /// Late windows.
        public var lateWindows = 0
        /// Snapshots stopped automatically.
        public var missingStops = 0
        /// Sub-stream expiries.
        public var subStreamExpiries = 0
        /// Check states expired (REPEAT_STATES).
        public var checkStateExpiries = 0
        /// Suspicious deletions.
        public var suspiciousDeletions = 0
        /// Check states that flapped at some point of the period.
        public var flappingCheckStates = 0
        /// Error records opened or open in the period (episodes).
        public var errors = 0
        /// Error records still open at the end.
        public var openErrors = 0
        /// Envelopes and messages rejected (replays only).
        public var rejections = 0
        /// Dropped check states and strict-mode findings (replays only).
        public var warnings = 0

        /// Creates zero counts.
        public init() {}
    }

    /// Something that needs attention, in the order the report leads with them.
    public struct Attention: Sendable, Hashable, Codable {
        /// How urgent it is.
        public enum Severity: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
            /// Something is down, or data was lost or is wrong: `CRITICAL` check states, suspicious deletions,
            /// missing stops, open `ERROR` errors, rejections.
            case critical
            /// Something is degraded, or the source misbehaves: `DEVIATING` check states, late windows, slow
            /// cadence, expiries, flapping.
            case warning
            /// Worth knowing: open `WARN` errors, errors raised and closed again, dropped check states.
            case notice

            private var rank: Int {
                switch self {
                case .critical: 0
                case .warning: 1
                case .notice: 2
                }
            }

            /// Critical first.
            public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
        }

        /// What kind of problem.
        public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
            /// Check states `CRITICAL` at the end of the period.
            case criticalCheckStates
            /// Check states `DEVIATING` at the end of the period.
            case deviatingCheckStates
            /// Check states deleted by a diff or an automatic stop that came back within a few snapshots.
            case suspiciousDeletions
            /// Snapshots without `stop_snapshot`, stopped automatically.
            case missingStops
            /// `ERROR`-level errors open at the end.
            case openErrors
            /// Envelopes or messages rejected by validation.
            case rejections
            /// Periods in which a source was late.
            case lateWindows
            /// Completed snapshots further apart than the declared repeat interval.
            case slowCadence
            /// Sub-streams that expired.
            case expiries
            /// Check states that flapped.
            case flapping
            /// `WARN`-level errors open at the end.
            case openWarnings
            /// Errors raised and remediated in the period.
            case closedErrors
            /// Dropped check states and strict-mode findings.
            case validationWarnings
        }

        /// How urgent it is.
        public var severity: Severity
        /// What kind of problem.
        public var kind: Kind
        /// The stream, when it is about one.
        public var urn: String?
        /// The sub-stream (`nil` for main or when not about one sub-stream; see ``subStreamScoped``).
        public var subStreamId: String?
        /// Whether the item is about one sub-stream (then `subStreamId == nil` means main).
        public var subStreamScoped: Bool
        /// One line for people.
        public var message: String

        /// Creates an item.
        public init(
            severity: Severity, kind: Kind, urn: String?, subStreamId: String?, subStreamScoped: Bool,
            message: String
        ) {
            self.severity = severity
            self.kind = kind
            self.urn = urn
            self.subStreamId = subStreamId
            self.subStreamScoped = subStreamScoped
            self.message = message
        }

        private enum CodingKeys: String, CodingKey {
            case severity, kind, urn, subStreamId, subStreamScoped, message
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(severity, forKey: .severity)
            try container.encode(kind, forKey: .kind)
            try container.encode(urn, forKey: .urn)
            try container.encode(subStreamId, forKey: .subStreamId)
            try container.encode(subStreamScoped, forKey: .subStreamScoped)
            try container.encode(message, forKey: .message)
        }
    }

    /// A validation finding of a replay, located in its payload file (SPEC §2).
    public struct Finding: Sendable, Hashable, Codable {
        /// Whether it rejected something.
        public enum Severity: String, Sendable, Hashable, Codable {
            /// An envelope (level 1) or a message (level 2) was rejected.
            case rejection
            /// A check state was dropped (level 3), or a strict-mode finding (unknown key).
            case warning
        }

        /// Whether it rejected something.
        public var severity: Severity
        /// The payload-error code, such as `invalidCheckState`.
        public var code: String
        /// The file as it was named.
        public var file: String
        /// The 1-based line.
        public var line: Int
        /// The 1-based column of malformed JSON.
        public var column: Int?
        /// The JSON path, such as `health[0].check_states[2].health`.
        public var path: String
        /// What is wrong.
        public var reason: String
        /// The offending value, cut to a readable length.
        public var value: String?

        /// Creates a finding from a replay finding.
        public init(_ finding: Replayer.Finding, severity: Severity) {
            self.severity = severity
            code = finding.error.code.description
            file = finding.file
            line = finding.line
            column = finding.error.column
            path = finding.error.path
            reason = finding.error.reason
            value = finding.error.value
        }

        /// `FILE:LINE: JSON-PATH: reason`, as `healthsync replay` prints it.
        public var location: String { "\(file):\(line)" }

        private enum CodingKeys: String, CodingKey {
            case severity, code, file, line, column, path, reason, value
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(severity, forKey: .severity)
            try container.encode(code, forKey: .code)
            try container.encode(file, forKey: .file)
            try container.encode(line, forKey: .line)
            try container.encode(column, forKey: .column)
            try container.encode(path, forKey: .path)
            try container.encode(reason, forKey: .reason)
            try container.encode(value, forKey: .value)
        }
    }

    /// What was audited: `N payload files` or the database path.
    public var source: String
    /// The audited period.
    public var period: Period
    /// The settings the analysis used.
    public var configuration: AuditConfiguration
    /// The counts.
    public var summary: Summary
    /// What needs attention, most urgent first.
    public var attention: [Attention]
    /// The streams, sorted by URN.
    public var streams: [StreamAudit]
    /// Validation findings of the replay, in replay order (empty for a database).
    public var findings: [Finding]

    /// Creates a report.
    public init(
        source: String,
        period: Period,
        configuration: AuditConfiguration,
        summary: Summary,
        attention: [Attention],
        streams: [StreamAudit],
        findings: [Finding]
    ) {
        self.source = source
        self.period = period
        self.configuration = configuration
        self.summary = summary
        self.attention = attention
        self.streams = streams
        self.findings = findings
    }
}

extension AuditReport {
    /// The report as JSON: sorted keys, pretty-printed, slashes unescaped, times as epoch seconds.
    /// - Throws: `EncodingError` (not expected for the report's types).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .secondsSince1970
        return try encoder.encode(self)
    }

    /// Decodes a report written by ``jsonData()``.
    /// - Throws: `DecodingError` when `data` is not such a report.
    public static func decode(json data: Data) throws -> AuditReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try decoder.decode(AuditReport.self, from: data)
    }
}
