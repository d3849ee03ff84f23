import Foundation
import HealthSync
import Testing

/// One fixture directory under `Fixtures/`: a payload file (`payload.json`, one envelope, or `payload.jsonl`, JSON
/// Lines) and the `expected.json` it must produce when replayed into an empty store.
struct Fixture: Sendable, CustomTestStringConvertible {
    /// `Fixtures/scenarios` (every envelope applies) or `Fixtures/invalid` (rejections at level 1 or 2).
    enum Kind: String, Sendable, CaseIterable {
        case scenarios
        case invalid
    }

    /// Which group it belongs to.
    var kind: Kind
    /// The directory name, such as `03-snapshot-timers`.
    var name: String
    /// The directory's absolute path.
    var directory: String
    /// The payload files found in the directory (exactly one is expected).
    var payloadFiles: [String]

    var testDescription: String { "\(kind.rawValue)/\(name)" }

    /// The scenario number: the digits before the first `-` of ``name``.
    var number: Int? { name.split(separator: "-").first.flatMap { Int($0) } }

    /// Every fixture under ``root`` (defined next to the tests, from their `#filePath`), scenarios first, each group
    /// sorted by name. Empty when the directory cannot be read (the discovery test then fails).
    static let all: [Fixture] = Kind.allCases.flatMap { discover($0) }

    /// The fixtures of one group.
    static func all(_ kind: Kind) -> [Fixture] { all.filter { $0.kind == kind } }

    /// The fixture named `name` in group `kind`.
    static func named(_ name: String, in kind: Kind) throws -> Fixture {
        try #require(all.first { $0.kind == kind && $0.name == name }, "no fixture \(kind.rawValue)/\(name)")
    }

    private static func discover(_ kind: Kind) -> [Fixture] {
        let files = FileManager.default
        let group = (root as NSString).appendingPathComponent(kind.rawValue)
        guard let names = try? files.contentsOfDirectory(atPath: group) else { return [] }
        return names.sorted().compactMap { name in
            let directory = (group as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                return nil
            }
            let payloads = ["payload.json", "payload.jsonl"].filter {
                files.fileExists(atPath: (directory as NSString).appendingPathComponent($0))
            }
            return Fixture(kind: kind, name: name, directory: directory, payloadFiles: payloads)
        }
    }

    /// The payload as a replay source, named `Fixtures/<group>/<name>/<file>`.
    func source() throws -> Replayer.Source {
        try #require(payloadFiles.count == 1, "\(testDescription) needs exactly one payload file, has \(payloadFiles)")
        let file = payloadFiles[0]
        let data = try Data(contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(file)))
        return Replayer.Source(name: "Fixtures/\(kind.rawValue)/\(name)/\(file)", bytes: Array(data))
    }

    /// The decoded `expected.json`.
    func expectation() throws -> FixtureExpectation {
        let path = (directory as NSString).appendingPathComponent("expected.json")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(FixtureExpectation.self, from: data)
    }
}

/// A fixture's `expected.json`: what replaying its payload into an empty store must produce.
///
/// `checkStates` and `errors` are the complete final state, sorted by URN, sub-stream (`null`, the main one, first),
/// then check-state id or (stream level first) error code.
struct FixtureExpectation: Decodable, Sendable {
    /// `--start` and `--until` for the replay, in epoch seconds.
    struct Replay: Decodable, Sendable {
        var start: Double?
        var until: Double?

        var startDate: Date? { start.map { Date(timeIntervalSince1970: $0) } }
        var untilDate: Date? { until.map { Date(timeIntervalSince1970: $0) } }
    }

    /// The replay's counts, timers included.
    struct Outcome: Decodable, Sendable, Equatable, CustomStringConvertible {
        var envelopesApplied: Int
        var envelopesRejected: Int
        var messagesRejected: Int
        var created: Int
        var updated: Int
        var deleted: Int
        var errorsOpened: Int

        init(
            envelopesApplied: Int, envelopesRejected: Int, messagesRejected: Int, created: Int, updated: Int,
            deleted: Int, errorsOpened: Int
        ) {
            self.envelopesApplied = envelopesApplied
            self.envelopesRejected = envelopesRejected
            self.messagesRejected = messagesRejected
            self.created = created
            self.updated = updated
            self.deleted = deleted
            self.errorsOpened = errorsOpened
        }

        init(_ outcome: Replayer.Outcome) {
            self.init(
                envelopesApplied: outcome.envelopesApplied, envelopesRejected: outcome.envelopesRejected,
                messagesRejected: outcome.messagesRejected, created: outcome.counts.created,
                updated: outcome.counts.updated, deleted: outcome.counts.deleted,
                errorsOpened: outcome.counts.errorsOpened
            )
        }

        var description: String {
            "applied \(envelopesApplied), rejected \(envelopesRejected), messages rejected \(messagesRejected), "
                + "created \(created), updated \(updated), deleted \(deleted), errors opened \(errorsOpened)"
        }
    }

    /// A rejection (level 1 or 2) or a warning (a dropped check state), located in the payload file.
    struct Finding: Decodable, Sendable {
        /// The line of the envelope (or of the malformed JSON).
        var line: Int
        /// When present, the column of a malformed-JSON error.
        var column: Int?
        /// The JSON path, exactly.
        var path: String
        /// A piece of the reason.
        var reasonContains: String

        /// Whether a replay finding matches this one.
        func matches(_ finding: Replayer.Finding) -> Bool {
            finding.line == line && finding.error.path == path && finding.error.reason.contains(reasonContains)
                && (column == nil || finding.error.column == column)
        }
    }

    /// One current check state.
    struct CheckStateEntry: Codable, Sendable, Hashable, CustomStringConvertible {
        var urn: String
        var subStreamId: String?
        var checkStateId: String
        var health: String

        init(urn: String, subStreamId: String?, checkStateId: String, health: String) {
            self.urn = urn
            self.subStreamId = subStreamId
            self.checkStateId = checkStateId
            self.health = health
        }

        init(_ state: StoredCheckState) {
            self.init(
                urn: state.key.urn, subStreamId: state.key.publicSubStreamId, checkStateId: state.checkStateId,
                health: state.checkState.health.rawValue
            )
        }

        var description: String { "\(urn) [\(subStreamId ?? "main")] \(checkStateId)=\(health)" }
    }

    /// One open error record.
    struct ErrorEntry: Codable, Sendable, Hashable, CustomStringConvertible {
        var urn: String
        var subStreamId: String?
        var streamLevel: Bool
        var code: String
        var count: Int

        init(urn: String, subStreamId: String?, streamLevel: Bool, code: String, count: Int) {
            self.urn = urn
            self.subStreamId = subStreamId
            self.streamLevel = streamLevel
            self.code = code
            self.count = count
        }

        init(_ record: ErrorRecord) {
            self.init(
                urn: record.key.urn, subStreamId: record.key.subStreamId.isEmpty ? nil : record.key.subStreamId,
                streamLevel: record.key.streamLevel, code: record.code.rawValue, count: Int(record.count)
            )
        }

        var description: String {
            "\(urn) [\(subStreamId ?? "main")\(streamLevel ? ", stream level" : "")] \(code) ×\(count)"
        }
    }

    /// What the fixture demonstrates.
    var description: String
    /// How to replay it.
    var replay: Replay
    /// The replay's counts.
    var outcome: Outcome
    /// Every rejection, in replay order.
    var rejections: [Finding]
    /// When present, every warning (dropped check states), in replay order.
    var warnings: [Finding]?
    /// The distinct error codes opened during the replay (from the `errorOpened` events), sorted.
    var errorCodesOpened: [String]
    /// The final check states.
    var checkStates: [CheckStateEntry]
    /// The final open errors.
    var errors: [ErrorEntry]
    /// When present, an engine defect that makes the replay differ from this (SPEC-derived) expectation: the
    /// comparison runs as a known issue, and fails once the defect is fixed so that this field gets removed.
    var knownIssue: String?
}

extension Array where Element == FixtureExpectation.CheckStateEntry {
    /// Sorted as `expected.json` lists them: URN, sub-stream (main first), check-state id.
    func sortedForFixtures() -> [Element] {
        sorted { ($0.urn, $0.subStreamId ?? "", $0.checkStateId) < ($1.urn, $1.subStreamId ?? "", $1.checkStateId) }
    }
}

extension Array where Element == FixtureExpectation.ErrorEntry {
    /// Sorted as `expected.json` lists them: URN, sub-stream (main first), stream level first, code.
    func sortedForFixtures() -> [Element] {
        sorted {
            ($0.urn, $0.subStreamId ?? "", $0.streamLevel ? 0 : 1, $0.code)
                < ($1.urn, $1.subStreamId ?? "", $1.streamLevel ? 0 : 1, $1.code)
        }
    }
}
