import Foundation
import HTTPTypes
import HealthSyncTestSupport
import Hummingbird
import HummingbirdTesting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `healthsync serve` process, the built executable, on 127.0.0.1 and a port the system picks (`--port 0`), with
/// its log in a file: for tests that drive the real service over a socket, kill it and start it again.
///
/// The port is read from the log line Hummingbird writes once the server listens, so the process is ready when
/// ``start(_:database:log:arguments:)`` returns.
struct ServeProcess {
    /// The API key every process started here accepts.
    static let key = "serve-process-test"
    /// The intake path with the key.
    static let intakePath = "/receiver/stsAgent/intake?api_key=\(key)"

    let process: ChildProcess
    /// The process's exit, awaited without holding a thread.
    let exit: ProcessExit
    /// The port the server listens on.
    let port: Int
    /// The file that holds the process's standard error (its log).
    let log: URL

    /// Starts `serve` on `database` and waits until it listens.
    /// - Parameters:
    ///   - binary: the `healthsync` executable.
    ///   - database: the SQLite file (created if missing).
    ///   - log: a new file for the process's log.
    ///   - arguments: more options for `serve`.
    ///   - descriptorLimit: when given, the process runs under `prlimit --nofile=N:N` (a descriptor limit of N).
    /// - Throws: ``ServeProcessError`` when the process exits or does not listen within two minutes.
    static func start(
        _ binary: URL,
        database: String,
        log: URL,
        arguments: [String] = [],
        descriptorLimit: Int? = nil
    ) async throws -> ServeProcess {
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw ServeProcessError(description: "cannot create \(log.path)")
        }
        let handle = try FileHandle(forWritingTo: log)
        let process = ChildProcess()
        let serve =
            [
                "serve", "--db", database, "--host", "127.0.0.1", "--port", "0", "--api-key", key,
                "--log-level", "info",
            ] + arguments
        if let descriptorLimit {
            // prlimit sets the limit on itself and then executes the command: the process id stays the server's.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(descriptorLimit):\(descriptorLimit)", binary.path] + serve
        } else {
            process.executableURL = binary
            process.arguments = serve
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = handle
        let exit = try process.start()
        try? handle.close()

        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(120) {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let port = listeningPort(in: text) {
                return ServeProcess(process: process, exit: exit, port: port, log: log)
            }
            if !process.isRunning {
                throw ServeProcessError(
                    description: "healthsync serve exited with status \(process.terminationStatus) before "
                        + "listening:\n\(text)"
                )
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.send(SIGKILL)
        _ = await exit.status()
        throw ServeProcessError(description: "healthsync serve did not listen within two minutes")
    }

    /// The port of Hummingbird's "Server started and listening on 127.0.0.1:PORT" log line.
    static func listeningPort(in log: String) -> Int? {
        guard let range = log.range(of: "listening on 127.0.0.1:") else { return nil }
        let digits = log[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return Int(digits)
    }

    /// Kills the process with SIGKILL (no chance to finish anything) and waits until it is gone. It blocks its thread,
    /// for the moment a killed process takes to go, so that a `defer` can call it.
    func killNow() {
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    /// Stops the process with SIGTERM (a graceful shutdown, which can take seconds) and returns its exit status.
    func stop() async -> Int32 {
        process.send(SIGTERM)
        return await exit.status()
    }

    /// The process's log so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// POSTs `body` as JSON to the intake of the server on `port`, on a new connection.
    /// - Parameters:
    ///   - body: the envelope.
    ///   - port: the server's port.
    ///   - idempotencyKey: sent as the `Idempotency-Key` header when given.
    /// - Returns: the status and the body of the answer.
    /// - Throws: when the connection fails, is closed before the answer, or no answer comes within a minute.
    static func post(
        _ body: String,
        port: Int,
        idempotencyKey: String? = nil
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        var fields: HTTPFields = [.contentType: "application/json"]
        if let idempotencyKey { fields[.idempotencyKey] = idempotencyKey }
        let headers = fields
        return try await TestClient.withClient(
            host: "127.0.0.1", port: port, configuration: TestClient.Configuration(timeout: .seconds(60))
        ) { client in
            let response = try await client.post(intakePath, headers: headers, body: ByteBuffer(string: body))
            return (response.status, response.body.map { String(buffer: $0) } ?? "")
        }
    }
}

extension HTTPField.Name {
    /// `Idempotency-Key`: the intake applies an envelope posted with a key once, however often it is posted.
    // swift-format-ignore: NeverForceUnwrap
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}

/// Why a ``ServeProcess`` could not be started.
struct ServeProcessError: Error, CustomStringConvertible {
    var description: String
}
