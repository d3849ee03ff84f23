import ArgumentParser
import HealthSync

/// `healthsync clear-errors`: closes every open error of a stream (SPEC §6).
struct ClearErrorsCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear-errors",
        abstract: "Close every open error of a stream, stream-level and of all its sub-streams.",
        discussion: """
            The errors close at the processor clock (see streams), which this command does not move: moving it \
            would skip the timers due on the way (run sweep first to bring the clock to wall time). Exit status 1 \
            when there is no such stream.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The stream.", valueName: "urn"))
    var urn: String

    @OptionGroup var logging: LoggingOptions

    func execute(console: Console) async throws {
        let (store, lock) = try database.openWriter(command: "clear-errors", creating: false, console: console)
        // The writer lock is held until the command returns.
        defer { withExtendedLifetime(lock) {} }
        let processor = HealthProcessor(store: store, logger: logging.makeLogger())
        guard let closed = try await processor.clearErrors(of: urn, at: processor.clock() ?? SystemClock().now) else {
            console.printError("error: no stream \(urn)")
            throw ExitCode(1)
        }
        console.print("cleared \(ReplayCommand.plural(closed, "error")) of \(urn)")
    }
}
