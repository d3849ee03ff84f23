import Foundation
import Synchronization

/// The exit of a child process, awaited without holding a thread.
///
/// Swift's cooperative pool has one thread per core, two on a small CI machine. A test that waits for a child with
/// `Process.waitUntilExit()` (or sleeps with `usleep`) holds one of them for as long as the child runs: two such tests
/// at once (headless Chromium, a kill harness) stop every other test's tasks, and a connection pool or a timeout of
/// theirs that should take milliseconds fails after seconds. Start children with ``Foundation/Process/start()`` and
/// await ``status()`` instead.
public final class ProcessExit: Sendable {
    private enum State {
        case running([CheckedContinuation<Int32, Never>])
        case exited(Int32)
    }

    private let state = Mutex(State.running([]))

    fileprivate init() {}

    fileprivate func resolve(_ status: Int32) {
        let waiting = state.withLock { state -> [CheckedContinuation<Int32, Never>] in
            guard case .running(let waiting) = state else { return [] }
            state = .exited(status)
            return waiting
        }
        for continuation in waiting { continuation.resume(returning: status) }
    }

    /// The child's exit status (`terminationStatus`: the signal's number when a signal ended it), once it has exited.
    public func status() async -> Int32 {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state -> Int32? in
                switch state {
                case .exited(let status):
                    return status
                case .running(var waiting):
                    waiting.append(continuation)
                    state = .running(waiting)
                    return nil
                }
            }
            if let exited { continuation.resume(returning: exited) }
        }
    }
}

extension Process {
    /// Starts the process (configured, not yet run) and returns its exit, to await with ``ProcessExit/status()``.
    /// - Throws: What `run()` throws when the process cannot be started.
    public func start() throws -> ProcessExit {
        let exit = ProcessExit()
        terminationHandler = { process in exit.resolve(process.terminationStatus) }
        do {
            try run()
        } catch {
            terminationHandler = nil
            throw error
        }
        return exit
    }

    /// Starts the process and returns its exit status once it has exited, without holding a thread meanwhile.
    /// - Throws: What `run()` throws when the process cannot be started.
    public func runToExit() async throws -> Int32 {
        try await start().status()
    }
}
