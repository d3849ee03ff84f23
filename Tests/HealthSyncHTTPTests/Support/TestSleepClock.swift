import Synchronization

/// A `Clock` that moves only when a test moves it, and tells the test each time someone starts sleeping on it.
///
/// The sweeper sleeps on it: a test waits with ``nextSleep()`` until the sweeper has finished a sweep and gone to
/// sleep (learning for how long), then moves time with ``advance(by:)``. No real time passes.
final class TestSleepClock: Clock {
    struct Instant: InstantProtocol {
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextID = 0
        /// Sleeps that started and that no test has seen yet, oldest first.
        var unseenSleeps: [Duration] = []
        /// A test waiting in ``nextSleep()``.
        var watcher: CheckedContinuation<Duration, Never>?
    }

    private let state = Mutex(State())

    init() {}

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case sleeping(Duration), due, cancelled }
                let outcome = state.withLock { state -> Outcome in
                    if Task.isCancelled { return .cancelled }
                    if deadline <= state.now { return .due }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return .sleeping(state.now.duration(to: deadline))
                }
                switch outcome {
                case .sleeping(let duration): report(duration)
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline passed.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits until someone starts sleeping and returns for how long.
    func nextSleep() async -> Duration {
        await withCheckedContinuation { (continuation: CheckedContinuation<Duration, Never>) in
            let unseen = state.withLock { state -> Duration? in
                if !state.unseenSleeps.isEmpty { return state.unseenSleeps.removeFirst() }
                precondition(state.watcher == nil, "one test watches at a time")
                state.watcher = continuation
                return nil
            }
            if let unseen { continuation.resume(returning: unseen) }
        }
    }

    private func report(_ duration: Duration) {
        let watcher = state.withLock { state -> CheckedContinuation<Duration, Never>? in
            guard let watcher = state.watcher else {
                state.unseenSleeps.append(duration)
                return nil
            }
            state.watcher = nil
            return watcher
        }
        watcher?.resume(returning: duration)
    }
}
