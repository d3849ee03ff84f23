import Foundation
import HealthSync
import HealthSyncAudit
import Testing

/// One fixture directory under `Fixtures/`: `scenarios`, `invalid` or `audit`, with one payload file and an
/// `expected.json`.
struct AuditFixture: Sendable, CustomTestStringConvertible {
    /// The group.
    enum Group: String, Sendable, CaseIterable {
        case scenarios
        case invalid
        case audit
    }

    /// The repository's `Fixtures` directory: `../../../Fixtures` relative to this file.
    static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
        .path

    var group: Group
    var name: String
    var directory: String

    var testDescription: String { "\(group.rawValue)/\(name)" }

    /// Every fixture of every group, each group sorted by name.
    static let all: [AuditFixture] = Group.allCases.flatMap { discover($0) }

    /// The fixtures of one group.
    static func all(_ group: Group) -> [AuditFixture] { all.filter { $0.group == group } }

    /// The fixture named `name` in `group`.
    static func named(_ name: String, in group: Group) throws -> AuditFixture {
        try #require(all.first { $0.group == group && $0.name == name }, "no fixture \(group.rawValue)/\(name)")
    }

    private static func discover(_ group: Group) -> [AuditFixture] {
        let directory = (root as NSString).appendingPathComponent(group.rawValue)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.sorted().compactMap { name in
            let path = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue
            else { return nil }
            return AuditFixture(group: group, name: name, directory: path)
        }
    }

    /// The payload as a replay source, named `Fixtures/<group>/<name>/<file>`.
    func source() throws -> Replayer.Source {
        let files = ["payload.json", "payload.jsonl"].filter {
            FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0))
        }
        let file = try #require(files.first, "\(testDescription) has no payload")
        let data = try Data(contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(file)))
        return Replayer.Source(name: "Fixtures/\(group.rawValue)/\(name)/\(file)", bytes: Array(data))
    }

    /// The raw `expected.json`.
    func expectedData() throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("expected.json")))
    }

    /// The replay bounds of `expected.json`.
    func replayBounds() throws -> ReplayBounds {
        try JSONDecoder().decode(ReplayExpectation.self, from: expectedData()).replay
    }

    /// Replays the fixture (with its bounds) and audits it.
    func audit(configuration: AuditConfiguration = AuditConfiguration()) async throws -> AuditReport {
        let bounds = try replayBounds()
        let input = try await AuditInput.replay([try source()], start: bounds.startDate, until: bounds.untilDate)
        return AuditAnalyzer(configuration: configuration).analyze(input)
    }
}

/// `replay` of an `expected.json`.
struct ReplayBounds: Decodable, Sendable {
    var start: Double?
    var until: Double?

    var startDate: Date? { start.map { Date(timeIntervalSince1970: $0) } }
    var untilDate: Date? { until.map { Date(timeIntervalSince1970: $0) } }
}

/// The parts of a scenario's `expected.json` the audit tests use.
struct ReplayExpectation: Decodable, Sendable {
    struct Finding: Decodable, Sendable {
        var line: Int
        var path: String
    }

    var replay: ReplayBounds
    var errorCodesOpened: [String]?
    var rejections: [Finding]?
    var warnings: [Finding]?
}

/// A date from epoch seconds.
func epoch(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

/// The replay time of envelopes without a timestamp before the clock is set, as `AuditInput.replay` uses it.
struct EpochClock: HealthClock {
    var now: Date { Date(timeIntervalSince1970: 0) }
}
