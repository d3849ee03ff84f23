import ArgumentParser
import Foundation
import HealthSync

/// `healthsync delete`: deletes a stream with its sub-streams, check states and errors (SPEC §6).
struct DeleteCommand: StreamOperationCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a stream: all its sub-streams, check states and errors.",
        discussion: discussion("The deletion happens")
    )

    @OptionGroup var options: StreamOperationOptions

    func operate(on processor: HealthProcessor, at time: Date) async throws -> String? {
        try await processor.deleteStream(options.urn, at: time) ? "deleted stream \(options.urn)" : nil
    }
}
