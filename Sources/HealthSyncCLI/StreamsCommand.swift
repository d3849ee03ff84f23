import ArgumentParser
import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncConsole

/// `healthsync streams`: every stream with its model and counts.
struct StreamsCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "List the streams: URN, consistency model, sub-stream and check-state counts, and the processor "
            + "clock.",
        discussion: """
            The processor clock is the time the database has reached: envelopes are applied at it or later, and the \
            timers due before it have fired (sweep advances it).
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Output format.")
    var format = OutputFormat.table

    func execute(console: Console) async throws {
        let store = try await database.openStore(creating: false, readOnly: true, console: console)
        let streams = try await store.streams()
        let clock = try await store.clock()
        switch format {
        case .json:
            console.print(try OutputFormat.json(JSONContract.StreamsDocument(streams, clock: clock)))
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
            console.print("\n" + Self.clockLine(clock))
        }
    }

    /// `processor clock  TIME (timers due before it have fired)`, or that it never ran.
    static func clockLine(_ clock: Date?) -> String {
        guard let clock else { return "processor clock  not set (nothing was applied yet)" }
        return "processor clock  \(TimeArgument.format(clock)) (timers due before it have fired)"
    }
}
