import ArgumentParser
import Foundation
import Testing

@testable import HealthSyncCLI

@Suite struct TimeArgumentTests {
    @Test(arguments: [
        ("1548857167", 1_548_857_167.0),
        ("1548857167.25", 1_548_857_167.25),
        ("0", 0),
        ("253402300799", 253_402_300_799),
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
        "2019-01-30 14:06:07Z", "2019-13-30T14:06:07Z", "-10.5", "-1", "253402300800", "99999999999999999999",
        "1969-12-31T23:59:59Z",
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

    @Test(arguments: [
        (
            "1701100100000",
            "this looks like milliseconds since 1970; TIME is in seconds: 1701100100 is 2023-11-27T15:48:20Z"
        ),
        (
            "1701100100000000",
            "this looks like microseconds since 1970; TIME is in seconds: 1701100100 is 2023-11-27T15:48:20Z"
        ),
        ("-1", "a time must be from 0 (1970-01-01T00:00:00Z) to 253402300799 (9999-12-31T23:59:59Z)"),
        ("999999999999999999999999", "a time must be from 0 (1970-01-01T00:00:00Z) to 253402300799"),
    ])
    func timesOutsideTheEnvelopeBoundsAreRefusedSayingWhy(text: String, reason: String) {
        let error = #expect(throws: TimeArgument.ParseError.self) { try TimeArgument.parse(text) }
        #expect(error?.description.hasPrefix(reason) == true, "\(error?.description ?? "")")
    }

    @Test(arguments: [
        ["sweep", "--now", "1701100100000"], ["sweep", "--now", "99999999999999999999"],
        ["replay", "--until", "99999999999999999999", "f.json"], ["state", "--at", "-5"],
    ])
    func hugeOrNegativeTimesAreUsageErrors(arguments: [String]) {
        AuditCLI.expectUsageError(arguments)
    }

    @Test func parseErrorsListTheAcceptedFormats() {
        let error = #expect(throws: (any Error).self) {
            try HealthSyncCommand.parseAsRoot(["state", "--at", "yesterday"])
        }
        let message = error.map { HealthSyncCommand.fullMessage(for: $0) } ?? ""
        #expect(message.contains("The value 'yesterday' is invalid for '--at <time>': expected epoch seconds"))
        #expect(message.contains("2019-01-30T14:06:07Z"))
    }
}
