import ArgumentParser
import Foundation
import HealthSync

/// What `delete` and `clear-errors` share: one operation on one stream, applied under the writer lock at the
/// processor clock, which the command does not move.
protocol StreamOperationCommand: ConsoleCommand {
    /// The database, the stream and the log options.
    var options: StreamOperationOptions { get }

    /// Applies the operation at `time`.
    /// - Returns: the line to print, or `nil` when there is no such stream.
    func operate(on processor: HealthProcessor, at time: Date) async throws -> String?
}

extension StreamOperationCommand {
    /// The help's discussion of a stream operation: `subject` happens at the processor clock, and why the clock
    /// stays.
    static func discussion(_ subject: String) -> String {
        """
        \(subject) at the processor clock (see streams), which this command does not move: moving it would skip \
        the timers due on the way (run sweep first to bring the clock to wall time). Exit status 1 when there is \
        no such stream.
        """
    }

    func execute(console: Console) async throws {
        let command = Self.configuration.commandName ?? "operation"
        let (store, lock) = try await options.database.openWriter(command: command, creating: false, console: console)
        // The writer lock is held until the command returns, the store closed first.
        defer { DatabaseOptions.close(store, releasing: lock, console: console) }
        let processor = HealthProcessor(store: store, logger: options.logging.makeLogger())
        let clock = try await processor.clock()
        let time: Date
        if let clock { time = clock } else { time = await DatabaseOptions.wallTime(of: store) }
        guard let line = try await operate(on: processor, at: time) else {
            console.printError("error: no stream \(options.urn)")
            throw ExitCode(1)
        }
        console.print(line)
    }
}

/// The options of a stream operation: the database, the stream and logging.
struct StreamOperationOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The stream.", valueName: "urn"))
    var urn: String

    @OptionGroup var logging: LoggingOptions
}
