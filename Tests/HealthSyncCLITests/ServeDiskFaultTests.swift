import Foundation
import HTTPTypes
import HealthSync
import HealthSyncSQLite
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// Disk faults against the built `healthsync serve` on a real, small tmpfs (Docs/reliability.md): a full file system
/// answers 503 with a clear body while the process keeps running, and the same envelope is accepted once there is
/// space again; a read-only file system makes `serve` refuse to start with a message naming the file (an exit, not a
/// crash), and once writable it starts with nothing lost.
@Suite(.serialized) struct ServeDiskFaultTests {
    /// Envelope `index`: a whole snapshot of 100 check states with long messages on stream `index`.
    static func body(_ index: Int) -> String {
        let states = (0..<100).map { id in
            Payload.checkState("check-\(id)", message: String(repeating: "envelope \(index) check \(id) ", count: 8))
        }
        return Payload.envelope([Payload.snapshot(urn(index), repeatInterval: 1800, states: states)])
    }

    static func urn(_ index: Int) -> String { "urn:health:serve-disk:\(index)" }

    @Test(.enabled(if: TinyFilesystem.isAvailable, "needs permission to mount a tmpfs (root on Linux)"))
    func aFullDiskAnswers503AndTheSameEnvelopeIsTakenOnceThereIsSpace() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            try await TinyFilesystem.with(megabytes: 4) { directory in
                let database = directory + "/health.sqlite"
                let filler = directory + "/filler"
                let server = try await ServeProcess.start(
                    binary, database: database, log: workspace.directory.appendingPathComponent("serve.log"))
                var accepted = 0
                do {
                    #expect(try await ServeProcess.post(Self.body(0), port: server.port).status == .ok)
                    accepted = 1
                    try TinyFilesystem.fill(directory, leaving: 512 << 10, with: filler)
                    var refusal: (status: Int, body: String)?
                    while refusal == nil, accepted < 200 {
                        let answer = try await ServeProcess.post(Self.body(accepted), port: server.port)
                        if answer.status == .ok { accepted += 1 } else { refusal = (answer.status.code, answer.body) }
                    }
                    let refused = try #require(refusal, "the file system filled up")
                    #expect(refused.status == 503, "\(refused.body)")
                    #expect(refused.body.contains(#""_type":"StorageUnavailable""#), "\(refused.body)")
                    #expect(refused.body.contains(#""storage":"full""#), "\(refused.body)")
                    #expect(refused.body.contains("nothing was applied"), "\(refused.body)")
                    #expect(server.process.isRunning, "serve keeps running on a full disk")

                    // Space returns: the refused envelope and two more are taken.
                    try FileManager.default.removeItem(atPath: filler)
                    for index in accepted..<(accepted + 3) {
                        let answer = try await ServeProcess.post(Self.body(index), port: server.port)
                        #expect(answer.status == .ok, "envelope \(index) after the space returned: \(answer.body)")
                    }
                    accepted += 3
                } catch {
                    server.killNow()
                    throw error
                }
                #expect(await server.stop() == 0, "serve stops gracefully: \(server.logText)")

                // Every acknowledged envelope is whole, nothing else is stored, and the file is intact.
                let store = try SQLiteHealthStore(path: database)
                #expect(try await store.integrityCheck().isEmpty)
                let summaries = try await store.streams()
                #expect(summaries.map(\.urn).sorted() == (0..<accepted).map(Self.urn).sorted())
                #expect(summaries.allSatisfy { $0.checkStateCount == 100 }, "\(summaries.map(\.checkStateCount))")
            }
        }
    }

    @Test(.enabled(if: TinyFilesystem.isAvailable, "needs permission to mount a tmpfs (root on Linux)"))
    func aReadOnlyFileSystemStopsServeWithAMessageAndLosesNothing() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            try await TinyFilesystem.with(megabytes: 8) { directory in
                let database = directory + "/health.sqlite"
                let first = try await ServeProcess.start(
                    binary, database: database, log: workspace.directory.appendingPathComponent("first.log"))
                let answer = try await ServeProcess.post(Self.body(0), port: first.port)
                #expect(answer.status == .ok)
                #expect(await first.stop() == 0)

                // Linux remounts read-only only while no file is open for writing: between two processes.
                try TinyFilesystem.remount(directory, readOnly: true)
                let log = workspace.directory.appendingPathComponent("refused.log")
                let refusal = await #expect(throws: ServeProcessError.self) {
                    _ = try await ServeProcess.start(binary, database: database, log: log)
                }
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                #expect(refusal?.description.contains("exited with status 2") == true, "\(text)")
                #expect(text.contains("cannot open database \(database)"), "\(text)")

                try TinyFilesystem.remount(directory, readOnly: false)
                let second = try await ServeProcess.start(
                    binary, database: database, log: workspace.directory.appendingPathComponent("second.log"))
                #expect(try await ServeProcess.post(Self.body(1), port: second.port).status == .ok)
                #expect(await second.stop() == 0)
                let store = try SQLiteHealthStore(path: database)
                #expect(try await store.streams().map(\.checkStateCount) == [100, 100])
                #expect(try await store.integrityCheck().isEmpty)
            }
        }
    }
}
