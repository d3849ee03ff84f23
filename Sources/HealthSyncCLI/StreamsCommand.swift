import ArgumentParser
import HealthSync
import HealthSyncAudit

/// `healthsync streams`: every stream with its model and counts.
struct StreamsCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "List the streams: URN, consistency model, sub-stream and check-state counts."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Output format.")
    var format = OutputFormat.table

    func execute(console: Console) async throws {
        let store = try database.openStore(creating: false, console: console)
        let streams = try await store.streams()
        switch format {
        case .json:
            console.print(try OutputFormat.json(JSONContract.StreamsDocument(streams)))
        case .table:
            guard !streams.isEmpty else {
                console.print("no streams")
                return
            }
            var table = TextTable(headers: ["URN", "MODEL", "SUB-STREAMS", "CHECK STATES"])
            for stream in streams.sorted(by: { $0.urn < $1.urn }) {
                table.append([
                    stream.urn, stream.consistencyModel.rawValue, String(stream.subStreamCount),
                    String(stream.checkStateCount),
                ])
            }
            console.print(table.render())
        }
    }
}
