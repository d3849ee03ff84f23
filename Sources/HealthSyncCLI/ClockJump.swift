import ArgumentParser
import Foundation
import HealthSyncAudit
import HealthSyncConsole

/// A move of the stored processor clock that a command is about to make, and the confirmation (`--yes`) it needs
/// when it is far: further than the event retention (the pruning after it would delete the history before the new
/// clock), or more than a day past wall time (every later envelope would be stamped in that future, and the clock
/// never goes back).
struct ClockJump {
    /// How far past wall time a clock may move without `--yes`: a day.
    static let wallTimeAllowance: TimeInterval = 86_400

    /// The stored clock; `nil` for a database that never ran.
    var from: Date?
    /// Where the command moves the clock (it never moves back).
    var to: Date
    /// The wall time now.
    var wallTime: Date
    /// The retention the command prunes with afterwards; `nil` when it does not prune.
    var retention: EventRetention?

    /// How far the clock moves forward (0 when it stays).
    var distance: TimeInterval {
        guard let from else { return 0 }
        return max(0, to.timeIntervalSince(from))
    }

    /// Why this jump needs confirmation, one sentence each; empty when it does not.
    var concerns: [String] {
        var concerns: [String] = []
        if let retention, let from, distance > retention.duration {
            concerns.append(
                "the jump of \(Self.describe(distance)) is longer than the event retention "
                    + "(\(DurationText.format(retention.duration))): the events before "
                    + "\(TimeArgument.format(retention.cutoff(at: to))) would be pruned, which is all the history "
                    + "recorded up to the current clock \(TimeArgument.format(from)) but the latest values of live "
                    + "check states, and every timer due in between would fire")
        }
        if to.timeIntervalSince(wallTime) > Self.wallTimeAllowance, to > (from ?? .distantPast) {
            concerns.append(
                "\(TimeArgument.format(to)) is \(Self.describe(to.timeIntervalSince(wallTime))) after the wall time "
                    + "\(TimeArgument.format(wallTime)); the clock never goes back, so every later envelope would be "
                    + "applied at that time")
        }
        return concerns
    }

    /// Returns when the jump needs no confirmation or `confirmed` is set; otherwise prints what would happen and
    /// how to confirm, and fails.
    /// - Parameters:
    ///   - command: the command line that moves the clock, as the message names it (`sweep`).
    ///   - confirmed: whether `--yes` was given.
    ///   - alternatives: other ways out, such as `--dry-run`, appended to the message.
    /// - Throws: `ExitCode(1)` after printing the reasons.
    func require(confirmed: Bool, command: String, alternatives: String, console: Console) throws {
        let concerns = concerns
        guard !concerns.isEmpty, !confirmed else { return }
        let from = from.map(TimeArgument.format) ?? "(none)"
        console.printError(
            "error: \(command) would move the clock from \(from) to \(TimeArgument.format(to)); nothing was changed")
        for concern in concerns { console.printError("  - \(concern)") }
        console.printError("  to do it anyway, run it again with --yes\(alternatives)")
        throw ExitCode(1)
    }

    /// A length in days (`1112 days`), hours or seconds, for messages.
    static func describe(_ seconds: TimeInterval) -> String {
        if seconds >= 2 * 86_400 { return ReplayCommand.plural(Int(seconds / 86_400), "day") }
        if seconds >= 2 * 3_600 { return ReplayCommand.plural(Int(seconds / 3_600), "hour") }
        return ReplayCommand.plural(Int(seconds.rounded(.up)), "second")
    }
}
