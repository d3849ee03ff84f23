import ArgumentParser
import Foundation
import HealthSyncAudit
import HealthSyncConsole

/// A DURATION argument: a positive number with a unit `s`, `m`, `h`, `d` or `w` (`90m`, `12h`, `30d`, `2w`); a bare
/// number is seconds.
struct DurationArgument: ExpressibleByArgument, Sendable, Hashable {
    /// The length in seconds.
    var seconds: TimeInterval

    /// Wraps a length in seconds.
    init(seconds: TimeInterval) {
        self.seconds = seconds
    }

    /// Parses `argument`; `nil` for anything but a positive duration.
    init?(argument: String) {
        guard let seconds = DurationText.parse(argument) else { return nil }
        self.seconds = seconds
    }

    /// The default event retention, 30 days.
    static let defaultRetention = DurationArgument(seconds: EventRetention.defaultDuration)

    /// How help shows a default: `30d`.
    var defaultValueDescription: String { DurationText.format(seconds) }

    /// The retention this duration stands for.
    var retention: EventRetention { EventRetention(duration: seconds) }
}

/// `--late-grace DURATION`: extra time a source gets past its repeat interval before it is late, as `--retain-events`
/// takes it (`30s`, `5m`, `1h`; a bare number is seconds), and `0` for none. At most a week: a longer grace would
/// hide a silent source for good.
struct LateGraceArgument: Sendable, Hashable, CustomStringConvertible {
    /// The grace in seconds.
    var seconds: TimeInterval

    /// No grace.
    static let none = LateGraceArgument(seconds: 0)

    /// The longest grace accepted: one week.
    static let maximum: TimeInterval = 604_800

    /// `5m`, or `0`.
    var description: String { seconds == 0 ? "0" : DurationText.format(seconds) }

    /// Parses `--late-grace`; throws a message naming the accepted forms.
    static func parse(_ argument: String) throws -> LateGraceArgument {
        let trimmed = argument.trimmingCharacters(in: .whitespaces)
        if let zero = Double(trimmed), zero == 0 { return .none }
        guard let seconds = DurationText.parse(trimmed) else {
            throw ValidationError(
                "--late-grace: '\(argument)' is not a duration: give a number with a unit s, m, h, d or w "
                    + "(30s, 5m, 1h; a bare number is seconds), or 0 for none.")
        }
        guard seconds <= maximum else {
            throw ValidationError(
                "--late-grace: \(DurationText.format(seconds)) is longer than the maximum, "
                    + "\(DurationText.format(maximum)).")
        }
        return LateGraceArgument(seconds: seconds)
    }
}

/// `--late-grace DURATION`, shared by the commands that run the processor's timers offline (`replay`, `audit`).
struct LateGraceOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Extra time a source gets past its repeat interval before it is late (30s, 5m, 1h; a bare number is "
                + "seconds; at most 1w).",
            valueName: "duration"),
        transform: LateGraceArgument.parse
    )
    var lateGrace = LateGraceArgument.none
}
