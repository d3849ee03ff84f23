import ArgumentParser
import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncConsole

/// `healthsync sweep`: advances the clock and fires the timers due before the new time.
struct SweepCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Advance the clock and fire due timers (late data, missing stops, expiry); print what fired.",
        discussion: """
            The clock never runs backwards: a TIME before it leaves it where it is. After the timers, events older \
            than the retention (--retain-events, measured back from the new clock) are pruned, keeping what \
            `state --at` needs for any time inside the retained window.

            A jump of the clock longer than the retention (the pruning would delete the history before it) or to \
            more than a day past wall time needs --yes: without it the sweep changes nothing, says why and exits 1. \
            --dry-run shows what a sweep would fire and prune, changing nothing.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(
        help: ArgumentHelp("The time to advance to, epoch seconds or ISO-8601 (default: now).", valueName: "time"),
        transform: TimeArgument.parse)
    var now: TimeArgument?

    @Option(
        help: ArgumentHelp(
            "Keep events for DURATION before the clock (90m, 12h, 30d, 2w; a bare number is seconds).",
            valueName: "duration")
    )
    var retainEvents = DurationArgument.defaultRetention

    @Flag(help: "Show what the sweep would fire and prune, and change nothing.")
    var dryRun = false

    @Flag(help: "Confirm a jump of the clock longer than the retention or to more than a day past wall time.")
    var yes = false

    @OptionGroup var logging: LoggingOptions

    func execute(console: Console) async throws {
        let (store, lock) = try await database.openWriter(command: "sweep", creating: false, console: console)
        // The writer lock is held until the command returns, the store closed first.
        defer { DatabaseOptions.close(store, releasing: lock, console: console) }
        let processor = HealthProcessor(store: store, logger: logging.makeLogger())
        let before = try await processor.clock()
        let wallTime = await DatabaseOptions.wallTime(of: store)
        let target = max(now?.date ?? wallTime, before ?? .distantPast)
        let jump = ClockJump(from: before, to: target, wallTime: wallTime, retention: retainEvents.retention)
        if dryRun {
            try await Self.describeDryRun(of: jump, in: store, console: console)
            return
        }
        try jump.require(
            confirmed: yes, command: "sweep",
            alternatives: ", see what it would do with --dry-run, or give an earlier --now",
            console: console)
        // Timers record events at their deadlines, which lie between the old clock and the new one; the events
        // already there before the sweep are told apart by their sequence numbers.
        let earlier = Set(try await store.events(EventQuery(since: before)).compactMap(\.sequence))
        let result = try await processor.advance(to: target)
        let fired = try await store.events(EventQuery(since: before, until: result.clock))
            .filter { event in event.sequence.map { !earlier.contains($0) } ?? true }

        let pruned = try await retainEvents.retention.prune(store, at: result.clock)

        let counts = result.counts
        let prunedNote = pruned > 0 ? "; \(ReplayCommand.plural(pruned, "event")) pruned" : ""
        console.print(
            "clock at \(TimeArgument.format(result.clock)); "
                + ReplayCommand.timers(fired: result.timersFired, missedPeriods: result.missedPeriods)
                + "; check states: \(counts.deleted) deleted; \(ReplayCommand.plural(counts.errorsOpened, "error")) opened"
                + prunedNote
        )
        guard !fired.isEmpty else { return }
        var table = TextTable(headers: ["TIME", "URN", "SUB-STREAM", "EVENT", "DETAIL"])
        for event in fired {
            table.append([
                TimeArgument.format(event.at), event.urn, event.subStreamId, event.kind.rawValue,
                Self.detail(of: event),
            ])
        }
        console.print(table.render())
    }

    /// Prints what a sweep to `jump.to` would do: the sub-streams with timers due (with an estimate of how often
    /// they fire) and the events the pruning would delete; changes nothing.
    static func describeDryRun(of jump: ClockJump, in store: any HealthStoreQueries, console: Console) async throws {
        let clock = jump.from.map(TimeArgument.format) ?? "(none)"
        console.print(
            "dry run: the clock would move from \(clock) to \(TimeArgument.format(jump.to))"
                + (jump.distance > 0 ? " (\(ClockJump.describe(jump.distance)) later)" : ""))
        for concern in jump.concerns { console.print("  - \(concern); this sweep would need --yes") }

        let limit = 1_000
        let due = try await store.dueSubStreams(before: jump.to, limit: limit)
        var table = TextTable(headers: ["URN", "SUB-STREAM", "NEXT DEADLINE", "REPEAT", "FIRES (ABOUT)"])
        var firings = 0
        for key in due {
            guard let record = try await store.subStream(key), let deadline = record.nextDeadline else { continue }
            // A late-data timer fires again every repeat interval until data arrives; the others fire once.
            let repeatInterval = record.intervals.map { TimeInterval($0.repeatInterval) } ?? 0
            let span = jump.to.timeIntervalSince(deadline)
            let count = repeatInterval > 0 ? Int(min(span / repeatInterval, 1e15).rounded(.up)) : 1
            firings += max(count, 1)
            table.append([
                key.urn, key.publicSubStreamId, TimeArgument.format(deadline),
                record.intervals.map { "\($0.repeatInterval)s" }, String(max(count, 1)),
            ])
        }
        if due.isEmpty {
            console.print("no timers are due before \(TimeArgument.format(jump.to))")
        } else {
            let more = due.count == limit ? " (the first \(limit) shown)" : ""
            console.print(
                "timers are due on \(ReplayCommand.plural(due.count, "sub-stream"))\(more): about "
                    + "\(ReplayCommand.plural(firings, "timer")) would fire")
            console.print(table.render())
        }

        guard let retention = jump.retention else { return }
        let cutoff = retention.cutoff(at: jump.to)
        let old = try await store.events(EventQuery(until: cutoff)).filter { $0.at < cutoff }
        let kept = TimeTravel.state(at: cutoff, from: old).filter { $0.since < cutoff }.count
        let pruned = max(0, old.count - kept)
        if pruned == 0 {
            console.print("no events would be pruned (the cutoff is \(TimeArgument.format(cutoff)))")
        } else {
            console.print(
                "about \(ReplayCommand.plural(pruned, "event")) before \(TimeArgument.format(cutoff)) would be pruned, "
                    + "keeping the latest values of the \(ReplayCommand.plural(kept, "check state")) alive then")
        }
        console.print("nothing was changed (dry run)")
    }

    /// What an event is about, in a few words.
    static func detail(of event: HealthEvent) -> String? {
        var parts: [String] = []
        if let state = event.checkState { parts.append(state.checkStateId) }
        if let reason = event.deletionReason { parts.append("(\(reason.rawValue))") }
        if let code = event.errorCode { parts.append(code.rawValue) }
        if let detail = event.detail { parts.append(detail) }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
}
