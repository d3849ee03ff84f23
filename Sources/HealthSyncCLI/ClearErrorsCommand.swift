import ArgumentParser
import Foundation
import HealthSync

/// `healthsync clear-errors`: closes every open error of a stream (SPEC §6).
struct ClearErrorsCommand: StreamOperationCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear-errors",
        abstract: "Close every open error of a stream, stream-level and of all its sub-streams.",
        discussion: discussion("The errors close")
    )

    @OptionGroup var options: StreamOperationOptions

    func operate(on processor: HealthProcessor, at time: Date) async throws -> String? {
        guard let closed = try await processor.clearErrors(of: options.urn, at: time) else { return nil }
        return "cleared \(ReplayCommand.plural(closed, "error")) of \(options.urn)"
    }
}
