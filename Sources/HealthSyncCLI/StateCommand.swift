import ArgumentParser
import HealthSync

/// `healthsync state`: the current check states.
struct StateCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Show the current check states."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Only check states of this stream.", valueName: "urn"))
    var urn: String?

    @Option(help: ArgumentHelp("Only check states of this sub-stream (\"\" for main).", valueName: "id"))
    var subStream: String?

    @Option(help: "Output format.")
    var format = OutputFormat.table

    func execute(console: Console) async throws {
        let store = try database.openStore(creating: false, console: console)
        let states = try await store.checkStates(urn: urn, subStreamId: subStream)
        switch format {
        case .json:
            console.print(try OutputFormat.json(JSONContract.StateDocument(states)))
        case .table:
            console.print(Self.table(of: states))
        }
    }

    /// The check states as an aligned table, or `no check states`.
    static func table(of states: [StoredCheckState]) -> String {
        guard !states.isEmpty else { return "no check states" }
        var table = TableRenderer(headers: [
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
