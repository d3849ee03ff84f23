import Foundation
import HealthSync
import HealthSyncSQLite
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// Kills `healthsync replay` with SIGKILL at random points, re-runs it, and checks after every kill that the database
/// is intact and after the last run that state, errors and events equal an uninterrupted replay's (SPEC §7: one
/// envelope is applied atomically; a re-run skips what was committed).
@Suite(.serialized) struct ReplayCrashTests {
    /// How many kills a run survives; `HEALTHSYNC_CRASH_KILLS` raises it for longer runs.
    static let kills = ProcessInfo.processInfo.environment["HEALTHSYNC_CRASH_KILLS"].flatMap(Int.init) ?? 12

    @Test func replayKilledAtRandomPointsResumesToTheSameResult() async throws {
        let binary = try #require(Self.healthsyncBinary(), "the healthsync executable is built next to the tests")
        try await Workspace.with { workspace in
            let payload = try workspace.write("capture.jsonl", Self.capture(envelopes: 300, seed: 42))
            let reference = workspace.directory.appendingPathComponent("reference.sqlite").path
            let crashed = workspace.directory.appendingPathComponent("crashed.sqlite").path

            #expect(try await Self.run(binary, ["replay", "--db", reference, "--until", "1700020000", payload]) == 0)

            var generator = SeededRandom(seed: 7)
            var killsLanded = 0
            for _ in 0..<Self.kills {
                let (process, exit) = try Self.start(
                    binary, ["replay", "--db", crashed, "--until", "1700020000", payload])
                try await Task.sleep(for: .microseconds(5_000 + generator.next() % 400_000))
                if process.isRunning {
                    process.send(SIGKILL)
                    killsLanded += 1
                }
                _ = await exit.status()
                if FileManager.default.fileExists(atPath: crashed) {
                    let store = try SQLiteHealthStore(path: crashed)
                    #expect(try await store.integrityCheck().isEmpty, "PRAGMA integrity_check after a kill")
                }
            }
            #expect(try await Self.run(binary, ["replay", "--db", crashed, "--until", "1700020000", payload]) == 0)

            let expected = try SQLiteHealthStore(path: reference)
            let actual = try SQLiteHealthStore(path: crashed)
            #expect(try await actual.allCheckStates() == expected.allCheckStates())
            #expect(try await actual.streams() == expected.streams())
            for summary in try await expected.streams() {
                #expect(try await actual.errors(of: summary.urn) == expected.errors(of: summary.urn))
                #expect(try await actual.status(of: summary.urn) == expected.status(of: summary.urn))
            }
            let expectedEvents = try await expected.events(EventQuery())
            #expect(try await actual.events(EventQuery()) == expectedEvents)
            #expect(expectedEvents.count > 1_000, "the capture exercises the processor")
            #expect(try await actual.clock() == expected.clock())
            print("replay crash test: \(killsLanded) of \(Self.kills) kills landed mid-replay; result identical")
        }
    }

    /// A deterministic capture: three streams over 300 envelopes, snapshots with churn, a sub-stream that stops
    /// sending (late data, then expiry) and REPEAT_STATES check states that age out.
    static func capture(envelopes: Int, seed: UInt64) -> String {
        var generator = SeededRandom(seed: seed)
        var lines: [String] = []
        for index in 0..<envelopes {
            let time = 1_700_000_000 + Double(index * 30)
            var messages: [String] = []
            let states = (0..<40).compactMap { id -> String? in
                guard generator.next() % 10 != 0 else { return nil }
                let health = ["CLEAR", "DEVIATING", "CRITICAL"][Int(generator.next() % 3)]
                return Payload.checkState("check-\(id)", health: health)
            }
            messages.append(Payload.snapshot("urn:health:crash:snapshots", repeatInterval: 30, states: states))
            if index < envelopes / 2 {
                messages.append(
                    Payload.snapshot(
                        "urn:health:crash:snapshots", subStream: "agent-\(index % 3)", repeatInterval: 60,
                        expiryInterval: 300, states: Array(states.prefix(10))
                    ))
            }
            let repeated = (0..<20).compactMap { id -> String? in
                generator.next() % 4 == 0 ? Payload.checkState("state-\(id)") : nil
            }
            messages.append(
                Payload.repeatStates(
                    "urn:health:crash:states", repeatInterval: 30, expiryInterval: 120,
                    states: repeated))
            lines.append(Payload.envelope(at: time, messages))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func healthsyncBinary() -> URL? {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("healthsync")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    static func start(_ binary: URL, _ arguments: [String]) throws -> (process: ChildProcess, exit: ProcessExit) {
        let process = ChildProcess()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        return (process, try process.start())
    }

    static func run(_ binary: URL, _ arguments: [String]) async throws -> Int32 {
        try await start(binary, arguments).exit.status()
    }
}
