import ArgumentParser
import HealthSync

/// The check every command that names a stream makes: a URN that is neither a stream now nor in the event record is
/// a mistake (a typo), reported as `error: no stream URN` with exit status 1, never answered as an empty result.
enum KnownStream {
    /// Returns when `urn` is a stream of `store`, or appears in its event record (a deleted stream, for time
    /// travel and history).
    /// - Throws: `ExitCode(1)` after printing `error: no stream URN`; ``HealthSync/StorageError``.
    static func require(_ urn: String, in store: any HealthStoreQueries, console: Console) async throws {
        if try await store.stream(urn) != nil { return }
        if try await !store.events(EventQuery(urn: urn, limit: 1)).isEmpty { return }
        console.printError("error: no stream \(urn)")
        throw ExitCode(1)
    }
}
