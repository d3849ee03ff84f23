import ArgumentParser
import HealthSync
import HealthSyncAudit
import HealthSyncConsole

/// `healthsync history`: the event record (SPEC §6 events), oldest first, with time and cause.
struct HistoryCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List the recorded events (check states created, updated, deleted; snapshots; errors; "
            + "sub-streams) with their time and cause, oldest first.",
        discussion: """
            Events are what changed, when and why: a check state deleted at 03:12 shows "deleted by snapshot \
            diff" or "deleted by automatic stop". Repeats of an unchanged check state and repeats of an open error \
            are not events. Events older than the retention (sweep --retain-events) are pruned. Exit status 1 when --urn \
            names no stream (neither now nor in the event record).
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Only events of this stream.", valueName: "urn"))
    var urn: String?

    @Option(help: ArgumentHelp("Only events of this sub-stream (\"\" for main); needs --urn.", valueName: "id"))
    var subStream: String?

    @Option(help: ArgumentHelp("Only events of this check state.", valueName: "id"))
    var check: String?

    @Option(help: ArgumentHelp("Only events at or after TIME.", valueName: "time"), transform: TimeArgument.parse)
    var since: TimeArgument?

    @Option(help: ArgumentHelp("Only events at or before TIME.", valueName: "time"), transform: TimeArgument.parse)
    var until: TimeArgument?

    @Option(
        help: ArgumentHelp(
            "At most this many events: the oldest, or with --newest the newest (printed oldest first either way).",
            valueName: "count")
    )
    var limit: Int?

    @Flag(help: "With --limit, keep the newest events instead of the oldest.")
    var newest = false

    @Option(help: "Output format.")
    var format = OutputFormat.table

    func validate() throws {
        if subStream != nil, urn == nil { throw ValidationError("--sub-stream needs --urn.") }
        if let since, let until, until.date < since.date {
            throw ValidationError("--until must not be earlier than --since.")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1.") }
        if newest, limit == nil { throw ValidationError("--newest needs --limit.") }
    }

    func execute(console: Console) async throws {
        let store = try await database.openStore(creating: false, readOnly: true, console: console)
        if let urn { try await KnownStream.require(urn, in: store, console: console) }
        var events = try await store.events(
            EventQuery(
                urn: urn, subStreamId: subStream, checkStateId: check, since: since?.date, until: until?.date,
                limit: newest ? nil : limit.map { $0 + 1 }))
        if let limit, events.count > limit {
            let total = newest ? "\(events.count)" : "more than \(limit)"
            events = newest ? Array(events.suffix(limit)) : Array(events.prefix(limit))
            console.printError(
                "note: the \(newest ? "newest" : "oldest") \(ReplayCommand.plural(limit, "event")) of \(total) "
                    + (newest ? "(without --newest, the oldest)" : "(--newest for the newest)"))
        }
        switch format {
        case .json:
            console.print(try OutputFormat.json(JSONContract.HistoryDocument(events)))
        case .table:
            guard !events.isEmpty else {
                console.print("no events")
                return
            }
            var table = TextTable(headers: ["TIME", "URN", "SUB-STREAM", "EVENT", "CHECK STATE", "HEALTH", "CAUSE"])
            for event in events {
                table.append([
                    TimeArgument.format(event.at), event.urn, event.subStreamId, event.kind.rawValue,
                    event.checkStateId, event.checkState?.health.rawValue, event.explanation,
                ])
            }
            console.print(table.render())
        }
    }
}
