import Foundation
import HealthSyncTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The tests' own process starter (`posix_spawn`, not Foundation's `Process`): how a child ends, where it runs, what it
/// inherits, and that a test process holding more descriptors than glibc's `readdir` buffer lists at once can still
/// start one.
@Suite struct ChildProcessTests {
    static let shell = URL(fileURLWithPath: "/bin/sh")

    /// Runs `script` with `/bin/sh -c`, its standard output into a file, and returns how it ended and what it printed.
    static func sh(_ script: String, in directory: URL) async throws -> (end: ProcessEnd, output: String) {
        let outputURL = directory.appendingPathComponent(UUID().uuidString)
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil) else {
            throw SpawnError(program: outputURL.path, operation: "create", code: EIO)
        }
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }
        let child = ChildProcess()
        child.executableURL = shell
        child.arguments = ["-c", script]
        child.currentDirectoryURL = directory
        child.standardOutput = output
        let end = try await child.start().ended()
        #expect(!child.isRunning)
        #expect(child.terminationStatus == end.status)
        #expect(child.terminationReason == end.reason)
        return (end, try String(contentsOf: outputURL, encoding: .utf8))
    }

    @Test func anExitStatusAndASignalAreToldApart() async throws {
        try await withTemporaryDirectory { directory in
            let three = try await Self.sh("exit 3", in: directory).end
            let zero = try await Self.sh("exit 0", in: directory).end
            let terminated = try await Self.sh("kill -TERM $$", in: directory).end
            #expect(three == ProcessEnd(status: 3, reason: .exit))
            #expect(zero == ProcessEnd(status: 0, reason: .exit))
            #expect(terminated == ProcessEnd(status: SIGTERM, reason: .uncaughtSignal))
        }
    }

    @Test func theChildRunsInItsDirectoryAndTheTestProcessDoesNotMove() async throws {
        let before = FileManager.default.currentDirectoryPath
        try await withTemporaryDirectory { directory in
            let printed = try await Self.sh("pwd -P", in: directory).output
            let expected = directory.resolvingSymlinksInPath().path
            #expect(printed == expected + "\n")
        }
        #expect(FileManager.default.currentDirectoryPath == before)
    }

    @Test func theEnvironmentIsTheOneGiven() async throws {
        try await withTemporaryDirectory { directory in
            let outputURL = directory.appendingPathComponent("env")
            #expect(FileManager.default.createFile(atPath: outputURL.path, contents: nil))
            let output = try FileHandle(forWritingTo: outputURL)
            defer { try? output.close() }
            let child = ChildProcess()
            child.executableURL = Self.shell
            child.arguments = ["-c", "printf '%s' \"$GREETING\"; printf '|%s' \"${HOME-unset}\""]
            child.environment = ["GREETING": "hello world"]
            child.standardOutput = output
            let status = try await child.runToExit()
            let printed = try String(contentsOf: outputURL, encoding: .utf8)
            #expect(status == 0)
            #expect(printed == "hello world|unset")
        }
    }

    /// The test process holds 1,500 more descriptors (more than glibc's 32 KiB `readdir` buffer lists at once, the
    /// case that crashes Foundation's `Process.run()`), none close-on-exec: the child starts, and gets only 0, 1 and 2.
    @Test func aChildOfAProcessWithThousandsOfDescriptorsInheritsOnlyItsStandardOnes() async throws {
        var held: [Int32] = []
        defer { for descriptor in held { close(descriptor) } }
        for _ in 0..<1_500 {
            let descriptor = open("/dev/null", O_RDONLY)
            try #require(descriptor >= 0, "open /dev/null: \(String(cString: strerror(errno)))")
            held.append(descriptor)
        }
        try await withTemporaryDirectory { directory in
            // The shell's own descriptors in /proc/self/fd: `ls` is a child of the shell, which lists its own.
            let listed = try await Self.sh("ls /proc/$$/fd", in: directory)
            #expect(listed.end == ProcessEnd(status: 0, reason: .exit))
            let descriptors = Set(listed.output.split(separator: "\n").compactMap { Int32($0) })
            #expect(descriptors.isSubset(of: [0, 1, 2, 10]), "dash may keep one of its own (10): \(descriptors)")
            #expect(descriptors.isSuperset(of: [0, 1, 2]))
        }
    }

    @Test func aMissingProgramIsAnErrorNotACrash() async throws {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/nonexistent/healthsync-no-such-program")
        #expect(throws: SpawnError.self) { try child.start() }
        #expect(!child.isRunning)
    }
}
