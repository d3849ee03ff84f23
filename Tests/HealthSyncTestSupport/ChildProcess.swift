import Foundation
import Synchronization

/// How a child process ended.
public struct ProcessEnd: Sendable, Equatable {
    /// The exit status, or the signal's number when a signal ended the process (as `Process.terminationStatus`).
    public let status: Int32
    /// Whether the process exited or a signal ended it.
    public let reason: Process.TerminationReason

    /// Decodes a `waitpid` status word (the `WIFEXITED`/`WTERMSIG` macros, which Swift does not import).
    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        if signal == 0 {
            self.init(status: (waitStatus >> 8) & 0xff, reason: .exit)
        } else {
            self.init(status: signal, reason: .uncaughtSignal)
        }
    }

    /// An end as `Process` reports it.
    public init(status: Int32, reason: Process.TerminationReason) {
        self.status = status
        self.reason = reason
    }
}

/// The exit of a child process, awaited without holding a thread.
///
/// Swift's cooperative pool has one thread per core, two on a small CI machine. A test that waits for a child with
/// `Process.waitUntilExit()` (or sleeps with `usleep`) holds one of them for as long as the child runs: two such tests
/// at once (headless Chromium, a kill harness) stop every other test's tasks, and a connection pool or a timeout of
/// theirs that should take milliseconds fails after seconds. Start children with ``ChildProcess/start()`` and await
/// ``status()`` instead.
public final class ProcessExit: Sendable {
    private enum State {
        case running([CheckedContinuation<ProcessEnd, Never>])
        case exited(ProcessEnd)
    }

    private let state = Mutex(State.running([]))
    /// Entered once at creation and left when the process has exited, for ``wait()``.
    private let group = DispatchGroup()

    fileprivate init() {
        group.enter()
    }

    fileprivate func resolve(_ end: ProcessEnd) {
        let waiting = state.withLock { state -> [CheckedContinuation<ProcessEnd, Never>]? in
            guard case .running(let waiting) = state else { return nil }
            state = .exited(end)
            return waiting
        }
        guard let waiting else { return }
        for continuation in waiting { continuation.resume(returning: end) }
        group.leave()
    }

    /// How the process ended, or nil while it runs.
    public var end: ProcessEnd? {
        state.withLock { state in
            if case .exited(let end) = state { return end }
            return nil
        }
    }

    /// The child's exit status (the signal's number when a signal ended it), once it has exited.
    public func status() async -> Int32 {
        await ended().status
    }

    /// How the child ended, once it has exited.
    public func ended() async -> ProcessEnd {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state -> ProcessEnd? in
                switch state {
                case .exited(let end):
                    return end
                case .running(var waiting):
                    waiting.append(continuation)
                    state = .running(waiting)
                    return nil
                }
            }
            if let exited { continuation.resume(returning: exited) }
        }
    }

    /// Blocks the calling thread until the process has exited: only for children that end within milliseconds, or
    /// after SIGKILL.
    public func wait() -> ProcessEnd {
        group.wait()
        // The group is left only after the state has become `.exited`.
        return end ?? ProcessEnd(status: -1, reason: .exit)
    }
}

/// A child process for the tests, started with `posix_spawn` rather than Foundation's `Process`.
///
/// On Linux, swift-corelibs-foundation's `Process.run()` (up to at least Swift 6.3.1) lists `/proc/self/fd` to close
/// the parent's descriptors in the child, and copies a full 256-byte `d_name` out of each directory entry. When
/// glibc's 32 KiB `readdir` buffer is full (about 1,350 open descriptors), the copy of its last entry reads past the
/// buffer, and the test process crashes with SIGSEGV if the next page is unmapped. The test suite holds more than
/// that many descriptors at its peak (hundreds of SQLite stores and sockets of tests running side by side), and it
/// crashed CI once. `Process.run()` also changes the whole process's working directory while it starts a child.
///
/// This type closes the parent's descriptors with `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34) and sets
/// the child's working directory with `posix_spawn_file_actions_addchdir_np` (glibc 2.29), neither of which Swift's
/// `Glibc` module imports, so both are looked up with `dlsym`. Its properties mirror `Process`'s, so a test
/// configures it the same way. A thread of its own (not one of the cooperative pool's) waits for the child.
public final class ChildProcess: @unchecked Sendable {
    /// The program to run.
    public var executableURL: URL?
    /// The program's arguments, without its name.
    public var arguments: [String]?
    /// The environment; nil for the test process's own.
    public var environment: [String: String]?
    /// The working directory; nil for the test process's own.
    public var currentDirectoryURL: URL?
    /// Standard input; nil for `/dev/null`.
    public var standardInput: FileHandle?
    /// Standard output; nil for `/dev/null`.
    public var standardOutput: FileHandle?
    /// Standard error; nil for `/dev/null`.
    public var standardError: FileHandle?

    private let exit = ProcessExit()
    private let pid = Mutex<pid_t>(0)

    /// A child to configure, then ``start()``.
    public init() {}

    /// The child's process identifier, once started.
    public var processIdentifier: pid_t { pid.withLock { $0 } }

    /// Whether the child has started and not yet been reaped.
    public var isRunning: Bool { processIdentifier > 0 && exit.end == nil }

    /// The exit status, or the signal's number when a signal ended the child.
    /// - Precondition: The child has exited.
    public var terminationStatus: Int32 {
        guard let end = exit.end else { preconditionFailure("the child process is still running") }
        return end.status
    }

    /// Whether the child exited or a signal ended it.
    /// - Precondition: The child has exited.
    public var terminationReason: Process.TerminationReason {
        guard let end = exit.end else { preconditionFailure("the child process is still running") }
        return end.reason
    }

    /// Sends `signal` to the child, if it has not been reaped yet (so never to a recycled process identifier).
    public func send(_ signal: Int32) {
        let pid = processIdentifier
        guard pid > 0, exit.end == nil else { return }
        kill(pid, signal)
    }

    /// Blocks the calling thread until the child has exited: only for children that end within milliseconds, or
    /// after SIGKILL. Tests await ``ProcessExit/status()`` instead.
    public func waitUntilExit() {
        _ = exit.wait()
    }

    /// Starts the child and returns its exit, to await with ``ProcessExit/status()``.
    /// - Throws: ``SpawnError`` when the program cannot be started.
    public func start() throws -> ProcessExit {
        guard let executableURL else { throw SpawnError(program: "", operation: "no executable", code: EINVAL) }
        let path = executableURL.path
        guard processIdentifier == 0 else { throw SpawnError(program: path, operation: "started twice", code: EINVAL) }
        let child = try Spawner.spawn(
            path: path, arguments: [path] + (arguments ?? []),
            environment: environment ?? ProcessInfo.processInfo.environment,
            directory: currentDirectoryURL?.path,
            descriptors: [standardInput, standardOutput, standardError].map { handle in
                // Foundation's null device may have no descriptor of its own: the spawner opens /dev/null itself.
                guard let handle, handle !== FileHandle.nullDevice else { return nil }
                return handle.fileDescriptor
            })
        pid.withLock { $0 = child }
        let exit = self.exit
        let reaper = Thread {
            var status: Int32 = 0
            while waitpid(child, &status, 0) == -1 {
                guard errno == EINTR else {
                    exit.resolve(ProcessEnd(status: -1, reason: .exit))
                    return
                }
            }
            exit.resolve(ProcessEnd(waitStatus: status))
        }
        reaper.stackSize = 64 * 1024
        reaper.start()
        return exit
    }

    /// Starts the child, for a caller that polls ``isRunning`` or calls ``waitUntilExit()``.
    /// - Throws: ``SpawnError`` when the program cannot be started.
    public func run() throws {
        _ = try start()
    }

    /// Starts the child and returns its exit status once it has exited, without holding a thread meanwhile.
    /// - Throws: ``SpawnError`` when the program cannot be started.
    public func runToExit() async throws -> Int32 {
        try await start().status()
    }
}

/// A child process that could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    /// The program's path.
    public let program: String
    /// The step that failed.
    public let operation: String
    /// The `errno` value.
    public let code: Int32

    /// A failure of `operation` with `errno` value `code` while starting `program`.
    public init(program: String, operation: String, code: Int32) {
        self.program = program
        self.operation = operation
        self.code = code
    }

    /// "cannot start PROGRAM: OPERATION: REASON".
    public var description: String {
        "cannot start \(program): \(operation): \(String(cString: strerror(code)))"
    }
}

/// `posix_spawn` with the two glibc extensions ``ChildProcess`` needs.
private enum Spawner {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: CloseFrom.self)
    }
    private static let changeDirectory: ChangeDirectory? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map {
        unsafeBitCast($0, to: ChangeDirectory.self)
    }

    /// Spawns `path`; `descriptors` are what the child gets as 0, 1 and 2 (nil: `/dev/null`).
    static func spawn(
        path: String, arguments: [String], environment: [String: String], directory: String?, descriptors: [Int32?]
    ) throws -> pid_t {
        func fail(_ operation: String, _ code: Int32) -> SpawnError {
            SpawnError(program: path, operation: operation, code: code)
        }
        guard let closeFrom, let changeDirectory else {
            throw fail("this C library lacks posix_spawn_file_actions_addclosefrom_np or _addchdir_np", ENOSYS)
        }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw fail("open /dev/null", errno) }
        defer { close(null) }

        var actions = posix_spawn_file_actions_t()
        var code = posix_spawn_file_actions_init(&actions)
        guard code == 0 else { throw fail("posix_spawn_file_actions_init", code) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, source) in descriptors.enumerated() {
            code = posix_spawn_file_actions_adddup2(&actions, source ?? null, Int32(target))
            guard code == 0 else { throw fail("posix_spawn_file_actions_adddup2", code) }
        }
        if let directory {
            code = changeDirectory(&actions, directory)
            guard code == 0 else { throw fail("posix_spawn_file_actions_addchdir_np", code) }
        }
        code = closeFrom(&actions, 3)
        guard code == 0 else { throw fail("posix_spawn_file_actions_addclosefrom_np", code) }

        // The calling thread is one of Swift's pool, which blocks signals such as SIGTERM, and a blocked or ignored
        // signal stays so across exec: the child starts with no signal blocked and every one at its default.
        var attributes = posix_spawnattr_t()
        code = posix_spawnattr_init(&attributes)
        guard code == 0 else { throw fail("posix_spawnattr_init", code) }
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        code = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        guard code == 0 else { throw fail("posix_spawnattr_setflags", code) }

        let argv = arguments.map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        code = (argv + [nil]).withUnsafeBufferPointer { argv in
            (envp + [nil]).withUnsafeBufferPointer { envp in
                // Never nil: both arrays hold at least their terminating nil.
                guard let argv = argv.baseAddress, let envp = envp.baseAddress else { return EINVAL }
                return posix_spawn(&pid, path, &actions, &attributes, argv, envp)
            }
        }
        guard code == 0 else { throw fail("posix_spawn", code) }
        return pid
    }
}
