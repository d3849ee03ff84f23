import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP connection to 127.0.0.1 for tests that send what a well-behaved client would not: half a head, half a
/// body, broken framing, or nothing at all.
///
/// The socket is non-blocking and every wait is a bounded loop of short sleeps, so a test never blocks a thread of
/// the cooperative pool the server under test also runs on.
public final class RawConnection {
    private let descriptor: Int32

    /// Connects to `port` on 127.0.0.1.
    /// - Throws: ``RawConnectionError`` when the connection cannot be made.
    public init(port: Int) throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw RawConnectionError(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(descriptor)
            throw RawConnectionError(description: "connect: errno \(code)")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Sends every byte of `text`.
    public func send(_ text: String, within timeout: Duration = .seconds(20)) async throws {
        try await send(Array(text.utf8), within: timeout)
    }

    /// Sends every byte of `bytes`, waiting while the peer does not read, for at most `timeout`.
    /// - Throws: ``RawConnectionError`` when the peer does not take the bytes in time or the connection fails.
    public func send(_ bytes: [UInt8], within timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { buffer in
                Self.send(descriptor, buffer.baseAddress, buffer.count)
            }
            if sent > 0 {
                offset += sent
                continue
            }
            let code = errno
            guard sent < 0, code == EAGAIN || code == EWOULDBLOCK else {
                throw RawConnectionError(description: "send failed after \(offset) bytes: errno \(code)")
            }
            guard ContinuousClock.now < deadline else {
                throw RawConnectionError(description: "the peer took only \(offset) of \(bytes.count) bytes")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private static func send(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.send(descriptor, bytes, count, Int32(MSG_NOSIGNAL))
        #else
        Darwin.send(descriptor, bytes, count, 0)
        #endif
    }

    /// Closes the sending side: the peer reads the end of the request.
    public func shutdownWrite() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// What ``readUntilClosed(within:)`` saw.
    public struct Reading: Sendable {
        /// The bytes read.
        public var text: String
        /// Whether the peer closed the connection (end of stream or reset) within the time.
        public var closed: Bool

        /// The status code of the answer's status line, if an answer came.
        public var status: Int? {
            guard text.hasPrefix("HTTP/1.1 ") else { return nil }
            return Int(text.dropFirst(9).prefix(3))
        }
    }

    /// What the peer sent that is there to read now, without waiting.
    public func readAvailable() -> String {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
    }

    /// Reads until the peer closes the connection, for at most `timeout`.
    public func readUntilClosed(within timeout: Duration = .seconds(20)) async throws -> Reading {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                bytes += buffer[..<count]
                continue
            }
            let code = errno
            if count == 0 || code == ECONNRESET {
                return Reading(text: String(decoding: bytes, as: UTF8.self), closed: true)
            }
            guard code == EAGAIN || code == EWOULDBLOCK else {
                throw RawConnectionError(description: "recv: errno \(code)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return Reading(text: String(decoding: bytes, as: UTF8.self), closed: false)
    }
}

/// Why a ``RawConnection`` failed.
public struct RawConnectionError: Error, CustomStringConvertible {
    /// What failed, with the `errno` it failed with.
    public var description: String
}
