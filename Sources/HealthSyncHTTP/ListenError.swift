import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server could not listen on its address, such as when another process holds the port.
public struct ListenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the address could not be bound.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Value: String, Sendable, Hashable {
            case addressInUse
            case addressNotAvailable
            case permissionDenied
        }

        let value: Value

        /// Another socket listens on the address (`EADDRINUSE`): another `healthsync serve`, or another service.
        public static let addressInUse = Code(value: .addressInUse)
        /// The host is not an address of this machine (`EADDRNOTAVAIL`).
        public static let addressNotAvailable = Code(value: .addressNotAvailable)
        /// The process may not bind the port, such as a port below 1024 without privileges (`EACCES`).
        public static let permissionDenied = Code(value: .permissionDenied)

        /// A readable rendering.
        public var description: String { value.rawValue }
    }

    /// Why.
    public var code: Code
    /// The host the server was to listen on.
    public var host: String
    /// The port the server was to listen on.
    public var port: Int

    /// Creates an error.
    public init(code: Code, host: String, port: Int) {
        self.code = code
        self.host = host
        self.port = port
    }

    /// The error of a failed bind, or `nil` when `error` is not one this type names.
    init?(_ error: any Error, host: String, port: Int) {
        guard let error = error as? IOError else { return nil }
        switch error.errnoCode {
        case EADDRINUSE: self.init(code: .addressInUse, host: host, port: port)
        case EADDRNOTAVAIL: self.init(code: .addressNotAvailable, host: host, port: port)
        case EACCES: self.init(code: .permissionDenied, host: host, port: port)
        default: return nil
        }
    }

    /// `cannot listen on HOST:PORT: ...`, saying what to check.
    public var description: String {
        let reason =
            switch code.value {
            case .addressInUse: "the address is in use (another healthsync serve?)"
            case .addressNotAvailable: "the address is not one of this machine's"
            case .permissionDenied: "permission denied (a port below 1024 needs privileges)"
            }
        return "cannot listen on \(host):\(port): \(reason)"
    }
}
