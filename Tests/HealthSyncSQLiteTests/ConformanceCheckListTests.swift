import Foundation
import HealthSyncTesting
import Testing

/// ``HealthStoreConformance/checks`` lists every check of the conformance sources once, each running the method of
/// its name: a check written but not listed would never run, and no test would notice.
@Suite struct ConformanceCheckListTests {
    /// `Sources/HealthSyncTesting/Conformance`, found from this file's path.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appending(path: "Sources/HealthSyncTesting/Conformance")

    /// The text of every Swift file of the conformance sources, by file name.
    static func sources() throws -> [String: String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path(percentEncoded: false))
        var sources: [String: String] = [:]
        for name in names where name.hasSuffix(".swift") {
            sources[name] = try String(contentsOf: directory.appending(path: name), encoding: .utf8)
        }
        return sources
    }

    /// The check methods the sources declare: the instance methods without parameters, whatever their access,
    /// but ``HealthStoreConformance/run()``. The fixtures are static or take arguments, and functions local to a
    /// check are indented deeper.
    static func declaredChecks() throws -> [String] {
        let declaration =
            #/^    (?:public |package |internal |fileprivate |private )?func (\w+)\(\)(?: async)?(?: throws)? \{$/#
            .anchorsMatchLineEndings()
        let methods = try sources().values.flatMap { text in
            text.matches(of: declaration).map { String($0.output.1) }
        }
        return methods.filter { $0 != "run" }
    }

    @Test func listsEveryCheckMethodOnce() throws {
        let declared = try Self.declaredChecks()
        let listed = HealthStoreConformance.checks.map(\.name)
        #expect(Set(listed).count == listed.count, "a name listed twice: \(listed)")
        #expect(Set(declared).count == declared.count, "a method declared twice: \(declared)")
        let notListed = Set(declared).subtracting(listed).sorted()
        #expect(notListed == [], "declared in \(Self.directory.path()) but not in HealthStoreConformance.checks")
        let notDeclared = Set(listed).subtracting(declared).sorted()
        #expect(notDeclared == [], "in HealthStoreConformance.checks but not declared as a check method")
    }

    @Test func eachListedCheckRunsTheMethodOfItsName() throws {
        let source = try #require(try Self.sources()["HealthStoreConformance.swift"])
        let entry = #/Check\("(\w+)"\)\s*\{\s*try await \$0\.(\w+)\(\)\s*\}/#
        let entries = source.matches(of: entry).map { (name: String($0.output.1), method: String($0.output.2)) }
        #expect(entries.map(\.name) == HealthStoreConformance.checks.map(\.name))
        for entry in entries {
            #expect(entry.name == entry.method, "Check(\"\(entry.name)\") runs \(entry.method)()")
        }
    }
}
