import ArgumentParser
import Foundation
import Testing

@testable import HealthSyncCLI

@Suite struct TimeArgumentTests {
    @Test(arguments: [
        ("1548857167", 1_548_857_167.0),
        ("1548857167.25", 1_548_857_167.25),
        ("0", 0),
        ("-10.5", -10.5),
        ("2019-01-30T14:06:07Z", 1_548_857_167),
        ("2019-01-30T14:06:07.250Z", 1_548_857_167.25),
        ("2019-01-30T15:06:07+01:00", 1_548_857_167),
        ("2019-01-30T09:06:07.5-05:00", 1_548_857_167.5),
    ])
    func parsesEpochSecondsAndISO8601(text: String, seconds: Double) throws {
        let time = try #require(TimeArgument(argument: text))
        #expect(time.date.timeIntervalSince1970 == seconds)
    }

    @Test(arguments: [
        "", "garbage", "1e9", "0x10", "nan", "inf", "12.", ".5", "--1", "1,5", " 12", "2019-01-30",
        "2019-01-30 14:06:07Z", "2019-13-30T14:06:07Z",
    ])
    func rejectsAnythingElse(text: String) {
        #expect(TimeArgument(argument: text) == nil)
    }

    @Test func garbageTimeIsAUsageError() throws {
        let error = #expect(throws: (any Error).self) {
            try HealthSyncCommand.parseAsRoot(["sweep", "--now", "yesterday"])
        }
        #expect(error.map { HealthSyncCommand.exitStatus(for: $0).rawValue } == 2)
    }

    @Test func formatsTimesInUTCWithFractionsOnlyWhenPresent() {
        #expect(TimeArgument.format(Date(timeIntervalSince1970: 1_548_857_167)) == "2019-01-30T14:06:07Z")
        #expect(TimeArgument.format(Date(timeIntervalSince1970: 1_548_857_167.5)) == "2019-01-30T14:06:07.500Z")
    }
}
