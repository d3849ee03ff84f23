import ArgumentParser
import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncConsole

/// `healthsync state`: the current check states, or with `--at` those of any time in the retained event window.
struct StateCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Show the current check states, or with --at those of a past time.",
        discussion: """
            --at TIME reconstructs the check states from the event record: exactly what a replay of the same \
            payloads stopped at TIME holds (an envelope stamped TIME is included, timers due at TIME are not). \
            Exit status 1 when TIME is before the retained event window (see sweep --retain-events), or when --urn \
            names no stream (neither now nor in the event record).
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Only check states of this stream.", valueName: "urn"))
    var urn: String?

    @Option(help: ArgumentHelp("Only check states of this sub-stream (\"\" for main).", valueName: "id"))
    var subStream: String?

    @Option(
        help: ArgumentHelp("The check states as they were at TIME.", valueName: "time"), transform: TimeArgument.parse)
    var at: TimeArgument?

    @Option(help: "Output format.")
    var format = OutputFormat.table

    func execute(console: Console) async throws {
        let store = try await database.openStore(creating: false, readOnly: true, console: console)
        if let urn { try await KnownStream.require(urn, in: store, console: console) }
        if let at {
            try await Self.checkRetainedWindow(of: store, at: at.date, option: "--at", console: console)
            if let clock = try await store.clock(), clock < at.date {
                console.printError(
                    "note: \(TimeArgument.format(at.date)) is after the processor clock "
                        + "(\(TimeArgument.format(clock))): timers due since have not fired yet (see sweep)")
            }
            let events = try await store.events(EventQuery(urn: urn, subStreamId: subStream, until: at.date))
            let entries = TimeTravel.state(at: at.date, from: events)
            switch format {
            case .json:
                console.print(try OutputFormat.json(JSONContract.StateDocument(entries)))
            case .table:
                console.print(
                    Self.table(
                        of: entries.map {
                            StoredCheckState(
                                key: $0.key, checkState: $0.checkState, lastSeenAt: $0.since, snapshotSequence: 0)
                        }))
            }
            return
        }
        let states = try await store.checkStates(urn: urn, subStreamId: subStream)
        switch format {
        case .json:
            console.print(try OutputFormat.json(JSONContract.StateDocument(states)))
        case .table:
            console.print(Self.table(of: states))
        }
    }

    /// Fails with exit status 1 when `time` is before the start of the retained event window, where time travel
    /// would be inexact.
    static func checkRetainedWindow(
        of store: any HealthStoreQueries, at time: Date, option: String, console: Console
    )
        async throws
    {
        guard let start = try await EventRetention.windowStart(in: store), time < start else { return }
        console.printError(
            "error: \(option) \(TimeArgument.format(time)) is before the event record, which starts at "
                + "\(TimeArgument.format(start)) (older events were pruned or never recorded)")
        throw ExitCode(1)
    }

    /// The check states as an aligned table, or `no check states`.
    static func table(of states: [StoredCheckState]) -> String {
        guard !states.isEmpty else { return "no check states" }
        var table = TextTable(headers: [
            "URN", "SUB-STREAM", "CHECK STATE", "HEALTH", "NAME", "ELEMENT", "MESSAGE",
        ])
        for state in states.sorted(by: { ($0.key, $0.checkStateId) < ($1.key, $1.checkStateId) }) {
            let values = state.checkState
            table.append([
                state.key.urn, state.key.publicSubStreamId, values.checkStateId, values.health.rawValue,
                values.name, values.topologyElementIdentifier, values.message,
            ])
        }
        return table.render()
    }
}
