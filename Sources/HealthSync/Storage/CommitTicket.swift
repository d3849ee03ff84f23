import Synchronization

/// A commit queued with ``PipelinedHealthStore/queueCommit(_:after:)``: it tells when the commit finished and whether it
/// succeeded, and the next queued commit is written only if it did.
public final class CommitTicket: Sendable {
    /// What a commit queued after a failed one fails with: a conflict, so that the caller applies its change again
    /// from fresh reads. Nothing of it is written.
    public static let earlierFailure = StorageError(
        code: .conflict, message: "an earlier queued commit failed; this one was not written")

    private struct State {
        var result: Result<Void, StorageError>?
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }

    private let state = Mutex(State())

    /// A ticket of a commit not finished yet.
    public init() {}

    /// A ticket of a commit that already finished.
    public init(finished result: Result<Void, StorageError>) {
        state.withLock { $0.result = result }
    }

    /// Records how the commit ended and wakes those waiting; a second call is ignored.
    public func finish(_ result: Result<Void, StorageError>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result.mapError { $0 as any Error }) }
    }

    /// `true` once the commit succeeded, `false` once it failed, `nil` while it runs.
    public var succeeded: Bool? {
        state.withLock { state in
            state.result.map { if case .success = $0 { true } else { false } }
        }
    }

    /// Waits for the commit to finish.
    /// - Throws: what the commit failed with: a ``StorageError``.
    public func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result = state.withLock { state -> Result<Void, StorageError>? in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let result { continuation.resume(with: result.mapError { $0 as any Error }) }
        }
    }
}
