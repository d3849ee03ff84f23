import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct ServeListenTests {
    @Test func refusesABusyPortWithOneClearErrorAndStatusTwo() async throws {
        let listener = try BusyPort()
        defer { listener.close() }
        try await Workspace.with { workspace in
            let result = try await Executable.run(
                [
                    "serve", "--db", workspace.database, "--host", "127.0.0.1", "--port", String(listener.port),
                    "--api-key", "busy-port-test",
                ],
                in: workspace.directory)
            #expect(result.status == 2)
            let errors = result.errorLines.filter { $0.contains("error") }
            #expect(
                errors == [
                    "error: cannot listen on 127.0.0.1:\(listener.port): the address is in use (another healthsync serve?)"
                ],
                "\(result.errors)")
        }
    }
}

/// A TCP socket listening on 127.0.0.1 on a port the system picks, so that a server started on that port finds it
/// taken.
struct BusyPort {
    let descriptor: Int32
    let port: Int

    init() throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        try #require(descriptor >= 0, "socket()")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 1) == 0 else {
            closeDescriptor(descriptor)
            throw BusyPortError(description: "cannot bind and listen on 127.0.0.1: errno \(errno)")
        }
        var actual = sockaddr_in()
        var actualLength = length
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &actualLength) }
        }
        guard named == 0 else {
            closeDescriptor(descriptor)
            throw BusyPortError(description: "getsockname: errno \(errno)")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: actual.sin_port))
    }

    func close() {
        closeDescriptor(descriptor)
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(descriptor)
    #else
    _ = Darwin.close(descriptor)
    #endif
}

struct BusyPortError: Error, CustomStringConvertible {
    let description: String
}
