import ArgumentParser
import HealthSync
import HealthSyncAudit
import HealthSyncConsole

/// `healthsync diff`: the check states of a stream added, removed and changed between two times.
struct DiffCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "List the check states of a stream added, removed (with the cause) and changed (old → new health) "
            + "between two times.",
        discussion: """
            Both states are reconstructed from the event record, as `state --at` does. Exit status 1 when FROM is \
            before the retained event window, or when --urn names no stream (neither now nor in the event record).
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The stream.", valueName: "urn"))
    var urn: String

    @Option(help: ArgumentHelp("Only this sub-stream (\"\" for main).", valueName: "id"))
    var subStream: String?

    @Option(help: ArgumentHelp("The earlier time.", valueName: "time"), transform: TimeArgument.parse)
    var from: TimeArgument

    @Option(help: ArgumentHelp("The later time.", valueName: "time"), transform: TimeArgument.parse)
    var to: TimeArgument

    @Option(help: "Output format.")
    var format = OutputFormat.table

    func validate() throws {
        if to.date < from.date { throw ValidationError("--to must not be earlier than --from.") }
    }

    func execute(console: Console) async throws {
        let store = try await database.openStore(creating: false, readOnly: true, console: console)
        try await KnownStream.require(urn, in: store, console: console)
        try await StateCommand.checkRetainedWindow(of: store, at: from.date, option: "--from", console: console)
        let events = try await store.events(EventQuery(urn: urn, subStreamId: subStream, until: to.date))
        let diff = TimeTravel.diff(from: from.date, to: to.date, events: events)
        switch format {
        case .json:
            console.print(
                try OutputFormat.json(JSONContract.DiffDocument(urn: urn, subStreamId: subStream, diff: diff)))
        case .table:
            console.print(Self.table(diff))
        }
    }

    /// The diff as a table: `added`, `removed` and `changed` rows, or `no changes`.
    static func table(_ diff: TimeTravel.Diff) -> String {
        let header =
            "from \(TimeArgument.format(diff.from)) to \(TimeArgument.format(diff.to)): "
            + "\(diff.added.count) added, \(diff.removed.count) removed, \(diff.changed.count) changed"
        guard !diff.isEmpty else { return header + "\nno changes" }
        var table = TextTable(headers: ["CHANGE", "SUB-STREAM", "CHECK STATE", "HEALTH", "CAUSE", "NAME"])
        for entry in diff.added {
            table.append([
                "added", entry.key.publicSubStreamId, entry.checkStateId, entry.checkState.health.rawValue,
                "created or last updated \(TimeArgument.format(entry.since))", entry.checkState.name,
            ])
        }
        for removal in diff.removed {
            let entry = removal.entry
            let cause = removal.reason.map { "deleted by \($0.words)" } ?? "deleted"
            table.append([
                "removed", entry.key.publicSubStreamId, entry.checkStateId, entry.checkState.health.rawValue,
                "\(cause) at \(TimeArgument.format(removal.removedAt))", entry.checkState.name,
            ])
        }
        for change in diff.changed {
            let before = change.before.checkState
            let after = change.after.checkState
            let health =
                before.health == after.health
                ? after.health.rawValue : "\(before.health.rawValue) → \(after.health.rawValue)"
            let fields = change.changedFields.filter { $0 != "health" }
            let also = fields.isEmpty ? "" : " (\(fields.joined(separator: ", ")) changed)"
            table.append([
                "changed", change.after.key.publicSubStreamId, change.after.checkStateId, health,
                "updated \(TimeArgument.format(change.after.since))\(also)", after.name,
            ])
        }
        return header + "\n" + table.render()
    }
}
