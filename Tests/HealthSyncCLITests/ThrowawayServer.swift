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

/// A server of a time-series tool (influxd, victoria-metrics, prometheus) started for one test on loopback ports,
/// with its data and log in the test's workspace, killed when the test ends.
struct ThrowawayServer {
    let process: ChildProcess
    /// The file that holds the process's standard output and error.
    let log: URL

    /// Starts `tool` with `arguments` and waits until `GET readiness` on `port` answers 2xx.
    /// - Throws: ``ServeProcessError`` when the process exits or is not ready within a minute.
    static func start(
        _ tool: URL, _ arguments: [String], in directory: URL, port: Int, readiness: String
    ) async throws -> ThrowawayServer {
        let log = directory.appendingPathComponent("\(tool.lastPathComponent)-\(port).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw ServeProcessError(description: "cannot create \(log.path)")
        }
        let handle = try FileHandle(forWritingTo: log)
        let process = ChildProcess()
        process.executableURL = tool
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try? handle.close()
        let server = ThrowawayServer(process: process, log: log)
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(60) {
            if let status = try? await get(readiness, port: port).status, (200..<300).contains(status.code) {
                return server
            }
            guard process.isRunning else {
                throw ServeProcessError(
                    description:
                        "\(tool.lastPathComponent) exited with \(process.terminationStatus):\n\(server.logText)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.stop()
        throw ServeProcessError(
            description: "\(tool.lastPathComponent) was not ready within a minute:\n\(server.logText)")
    }

    /// Kills the process and waits until it is gone.
    func stop() {
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    /// The process's log so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// A port on 127.0.0.1 that nothing listens on now (the system's choice for a socket bound to port 0).
    static func freePort() throws -> Int {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw ServeProcessError(description: "socket failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw ServeProcessError(description: "bind failed") }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw ServeProcessError(description: "getsockname failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `GET uri` on 127.0.0.1:`port`.
    static func get(
        _ uri: String, port: Int, headers: HTTPFields = [:]
    ) async throws -> (
        status: HTTPResponse.Status, body: String
    ) {
        try await TestClient.withClient(
            host: "127.0.0.1", port: port, configuration: TestClient.Configuration(timeout: .seconds(60))
        ) { client in
            // Go servers (influxd, victoria-metrics, prometheus) refuse an HTTP/1.1 request without a Host header.
            let response = try await client.execute(
                TestClient.Request(uri, method: .get, authority: "127.0.0.1:\(port)", headers: headers))
            return (response.status, response.body.map { String(buffer: $0) } ?? "")
        }
    }

    /// `POST uri` with `body` on 127.0.0.1:`port`.
    static func post(
        _ uri: String, port: Int, body: String, contentType: String
    ) async throws -> (
        status: HTTPResponse.Status, body: String
    ) {
        try await TestClient.withClient(
            host: "127.0.0.1", port: port, configuration: TestClient.Configuration(timeout: .seconds(60))
        ) { client in
            let response = try await client.execute(
                TestClient.Request(
                    uri, method: .post, authority: "127.0.0.1:\(port)", headers: [.contentType: contentType],
                    body: ByteBuffer(string: body)))
            return (response.status, response.body.map { String(buffer: $0) } ?? "")
        }
    }

    /// `text` percent-encoded for a query string.
    static func query(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
