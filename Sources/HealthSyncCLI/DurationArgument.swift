import ArgumentParser
import Foundation
import HealthSyncAudit

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
        guard let seconds = EventRetention.parseDuration(argument) else { return nil }
        self.seconds = seconds
    }

    /// The default event retention, 30 days.
    static let defaultRetention = DurationArgument(seconds: EventRetention.defaultDuration)

    /// How help shows a default: `30d`.
    var defaultValueDescription: String { EventRetention.formatDuration(seconds) }

    /// The retention this duration stands for.
    var retention: EventRetention { EventRetention(duration: seconds) }
}
