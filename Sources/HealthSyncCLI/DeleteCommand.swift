import ArgumentParser
import HealthSync

/// `healthsync delete`: deletes a stream with its sub-streams, check states and errors (SPEC §6).
struct DeleteCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a stream: all its sub-streams, check states and errors.",
        discussion: """
            The deletion happens at the processor clock (see streams), which this command does not move: moving it \
            would skip the timers due on the way (run sweep first to bring the clock to wall time). Exit status 1 \
            when there is no such stream.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The stream.", valueName: "urn"))
    var urn: String

    @OptionGroup var logging: LoggingOptions

    func execute(console: Console) async throws {
        let (store, lock) = try database.openWriter(command: "delete", creating: false, console: console)
        // The writer lock is held until the command returns.
        defer { withExtendedLifetime(lock) {} }
        let processor = HealthProcessor(store: store, logger: logging.makeLogger())
        guard try await processor.deleteStream(urn, at: processor.clock() ?? SystemClock().now) else {
            console.printError("error: no stream \(urn)")
            throw ExitCode(1)
        }
        console.print("deleted stream \(urn)")
    }
}
