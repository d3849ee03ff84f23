import Foundation
import HealthSyncTestSupport
import Testing

@testable import HealthSyncCLI

/// Writers of one database exclude each other through its `PATH.lock` (``WriterLock``); readers are not stopped.
@Suite struct WriterLockTests {
    /// Takes the lock as `serve`, waiting up to 10 s: other tests of this process spawn children, and a child
    /// between its fork and its exec still shares the descriptor of a lock released just before (the replay above),
    /// which a real `healthsync` process, one command long, never meets.
    private static func acquire(_ database: String) async throws -> WriterLock {
        for _ in 0..<100 {
            let console = Console(output: CapturedOutput(), errors: CapturedOutput())
            if let lock = try? WriterLock.acquire(database: database, command: "serve", console: console) {
                return lock
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let console = Console(output: CapturedOutput(), errors: CapturedOutput())
        return try WriterLock.acquire(database: database, command: "serve", console: console)
    }

    @Test func aSecondWriterInTheSameProcessIsRefusedWithTheHolderAndReadersStillRead() async throws {
        try await Workspace.with { workspace in
            let payload = try workspace.write("two.json", Payloads.twoStreams)
            #expect(try await workspace.run("replay", payload).status == 0)

            var holder: WriterLock? = try await Self.acquire(workspace.database)
            let writers: [[String]] = [
                ["replay", payload], ["sweep", "--now", "1000"], ["delete", "--urn", "urn:health:a:main"],
                ["clear-errors", "--urn", "urn:health:a:main"],
            ]
            for writer in writers {
                let result = try await CLI.run(writer + ["--db", workspace.database])
                #expect(result.status == 2, "\(writer)")
                #expect(
                    result.errors.contains("\(workspace.database) is held by healthsync serve (pid \(getpid()))"),
                    "\(writer): \(result.errors)")
            }
            let streams = try await workspace.run("streams")
            #expect(streams.status == 0, "\(streams.errors)")
            #expect(streams.output.contains("urn:health:a:main"))

            holder = nil
            #expect(holder == nil)
            let delete = try await workspace.run("delete", "--urn", "urn:health:a:main")
            #expect(delete.status == 0, "\(delete.errors)")
        }
    }

    @Test func replayIsRefusedWhileServeRunsOnTheSameDatabaseAndWorksOnceItStopped() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            let payload = try workspace.write("two.json", Payloads.twoStreams)
            let serve = try await ServeProcess.start(
                binary, database: workspace.database, log: workspace.directory.appendingPathComponent("serve.log"))
            var stopped = false
            defer { if !stopped { serve.killNow() } }

            let replay = try await Executable.run(
                ["replay", payload, "--db", workspace.database], in: workspace.directory)
            #expect(replay.status == 2)
            let pid = serve.process.processIdentifier
            #expect(
                replay.errors.contains("\(workspace.database) is held by healthsync serve (pid \(pid)) since "),
                "\(replay.errors)")
            // On the first one's port, so that without the lock it exits too (the port is busy) instead of serving.
            let second = try await Executable.run(
                [
                    "serve", "--db", workspace.database, "--host", "127.0.0.1", "--port", "\(serve.port)",
                    "--api-key", "k",
                ],
                in: workspace.directory)
            #expect(second.status == 2)
            #expect(second.errors.contains("held by healthsync serve (pid \(pid))"), "\(second.errors)")
            let streams = try await Executable.run(["streams", "--db", workspace.database], in: workspace.directory)
            #expect(streams.status == 0, "\(streams.errors)")

            #expect(await serve.stop() == 0)
            stopped = true
            let again = try await Executable.run(
                ["replay", payload, "--db", workspace.database], in: workspace.directory)
            #expect(again.status == 0, "\(again.errors)")
        }
    }
}
