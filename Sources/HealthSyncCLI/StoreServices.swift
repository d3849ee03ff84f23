import HealthSync
import Logging
import ServiceLifecycle

/// The services of the stores a command opens (the `PostgresClient` of a PostgreSQL store), run in a child task of
/// the command for as long as it runs: ``ConsoleCommand/run(console:)`` wraps every command in ``withServices(_:)``,
/// and ``DatabaseOptions`` hands each client it makes to ``run(_:)``.
///
/// A store opened this way is ready as soon as it is returned, the services stop (cancelled) once the command's work
/// returned, and `serve`'s server, which shuts down first, never outlives its store's pool.
final class StoreServices: Sendable {
    /// The services of the running command, bound by ``withServices(_:)``.
    @TaskLocal static var current: StoreServices?

    /// The stores' logger: warnings and errors on standard error, as the rest of the command's.
    static let logger: Logger = {
        var logger = Logger(label: "healthsync.store")
        logger.logLevel = .warning
        return logger
    }()

    /// The clients' logger: errors only. A client's warnings are about its pool (a lease asked for before its
    /// `run()` has started, which the command's first statement may well do); a statement that fails reaches the
    /// command as an error and is reported there.
    static let clientLogger: Logger = {
        var logger = Logger(label: "healthsync.store.client")
        logger.logLevel = .error
        return logger
    }()

    private let continuation: AsyncStream<any Service>.Continuation

    private init(continuation: AsyncStream<any Service>.Continuation) {
        self.continuation = continuation
    }

    /// Runs `service` until the command returns.
    /// - Throws: ``HealthSync/StorageError`` with code ``HealthSync/StorageError/Code/failed`` outside
    ///   ``withServices(_:)`` (a programmer error of the caller, reported rather than left to hang).
    static func run(_ service: any Service) throws(StorageError) {
        guard let current else {
            throw StorageError(code: .failed, message: "a store with a client was opened outside a command's services")
        }
        current.continuation.yield(service)
    }

    /// Runs `body` with services bound: each service handed to ``run(_:)`` runs in a child task until `body`
    /// returns, then it is cancelled (a PostgreSQL client closes its connections).
    static func withServices(_ body: () async throws -> Void) async throws {
        let (services, continuation) = AsyncStream<any Service>.makeStream()
        let bound = StoreServices(continuation: continuation)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { running in
                    for await service in services {
                        running.addTask {
                            do {
                                try await service.run()
                            } catch {
                                logger.error("a store's service stopped", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
            }
            defer {
                continuation.finish()
                group.cancelAll()
            }
            try await $current.withValue(bound) { try await body() }
        }
    }
}
