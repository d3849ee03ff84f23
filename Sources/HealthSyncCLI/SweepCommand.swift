import ArgumentParser
import HealthSync
import HealthSyncAudit

/// `healthsync sweep`: advances the clock and fires the timers due before the new time.
struct SweepCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Advance the clock and fire due timers (late data, missing stops, expiry); print what fired.",
        discussion: """
            The clock never runs backwards: a TIME before it leaves it where it is. After the timers, events older \
            than the retention (--retain-events, measured back from the new clock) are pruned, keeping what \
            `state --at` needs for any time inside the retained window.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The time to advance to, epoch seconds or ISO-8601 (default: now).", valueName: "time"))
    var now: TimeArgument?

    @Option(
        help: ArgumentHelp(
            "Keep events for DURATION before the clock (90m, 12h, 30d, 2w; a bare number is seconds).",
            valueName: "duration")
    )
    var retainEvents = DurationArgument.defaultRetention

    @OptionGroup var logging: LoggingOptions

    func execute(console: Console) async throws {
        let store = try database.openStore(creating: false, console: console)
        let processor = HealthProcessor(store: store, logger: logging.makeLogger())
        let before = try await processor.clock()
        // Timers record events at their deadlines, which lie between the old clock and the new one; the events
        // already there before the sweep are told apart by their sequence numbers.
        let earlier = Set(try await store.events(EventQuery(since: before)).compactMap(\.sequence))
        let result = try await processor.advance(to: now?.date ?? SystemClock().now)
        let fired = try await store.events(EventQuery(since: before, until: result.clock))
            .filter { event in event.sequence.map { !earlier.contains($0) } ?? true }

        let pruned = try await retainEvents.retention.prune(store, at: result.clock)

        let counts = result.counts
        let prunedNote = pruned > 0 ? "; \(ReplayCommand.plural(pruned, "event")) pruned" : ""
        console.print(
            "clock at \(TimeArgument.format(result.clock)); \(ReplayCommand.plural(result.timersFired, "timer")) fired; "
                + "check states: \(counts.deleted) deleted; \(ReplayCommand.plural(counts.errorsOpened, "error")) opened"
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
