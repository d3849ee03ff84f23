import Foundation
import HealthSync
import PostgresNIO

/// A PostgreSQL connection URL, as libpq spells it: `postgres://user:password@host:port/database?sslmode=require`
/// (or `postgresql://`), turned into a `PostgresClient.Configuration`.
///
/// - The user, password and database are percent-decoded; the port defaults to 5432, the user to `postgres`, the
///   database to the user's name (PostgreSQL's own default).
/// - `sslmode`: `disable` (no TLS), `allow` and `prefer` (TLS when the server offers it, its certificate not verified;
///   `prefer` is the default, as in libpq), `require` (TLS, certificate not verified), `verify-ca` (TLS, certificate
///   verified against the system's trust roots, host name not checked) and `verify-full` (both checked).
/// - `host=/path/to/directory` connects to the server's Unix socket in that directory (`.s.PGSQL.<port>`), as libpq
///   does; TLS does not apply.
///
/// ``description`` and ``redacted`` never show the password: errors and logs print the URL with it replaced by `***`.
///
/// ```swift
/// let url = try PostgresDatabaseURL("postgres://healthsync:secret@db.example.com/healthsync?sslmode=verify-full")
/// let store = try PostgresHealthStore(configuration: url.configuration, logger: logger)
/// ```
public struct PostgresDatabaseURL: Sendable, CustomStringConvertible {
    /// The client configuration the URL describes.
    public var configuration: PostgresClient.Configuration

    /// The URL as given, with its password (if any) replaced by `***`.
    public let redacted: String

    /// Whether `string` is meant as a PostgreSQL URL: it starts with `postgres://` or `postgresql://` (any case).
    /// A file path never does.
    public static func isPostgresURL(_ string: String) -> Bool {
        let lowered = string.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// Parses `string`.
    /// - Throws: ``HealthSync/StorageError`` with code ``HealthSync/StorageError/Code/failed`` and a message that shows
    ///   the URL without its password, when `string` is not a PostgreSQL URL, its port is not a number, or an option
    ///   is unknown or has a value this type does not take.
    public init(_ string: String) throws(StorageError) {
        let redacted = Self.redact(string)
        self.redacted = redacted
        func invalid(_ reason: String) -> StorageError {
            StorageError(code: .failed, message: "\(redacted) is not a usable PostgreSQL URL: \(reason)")
        }
        guard Self.isPostgresURL(string) else {
            throw invalid("it must start with postgres:// or postgresql://")
        }
        guard let components = URLComponents(string: string) else {
            throw invalid("it cannot be parsed (a character that must be percent-encoded?)")
        }
        var sslMode = "prefer"
        var socketDirectory: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                sslMode = item.value ?? ""
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw invalid("the host option takes a socket directory (an absolute path)")
                }
                socketDirectory = value
            default:
                throw invalid("unknown option '\(item.name)' (this client takes sslmode and host)")
            }
        }
        let port: Int
        if let given = components.port {
            guard (1...65_535).contains(given) else { throw invalid("port \(given) is out of range") }
            port = given
        } else {
            port = 5432
        }
        // URLComponents decodes the percent-encoding of each part.
        let username = components.user ?? "postgres"
        let password = components.password
        var database = String(components.path.drop { $0 == "/" })
        if database.isEmpty { database = username }
        var host = components.host ?? ""
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let socketDirectory {
            configuration = PostgresClient.Configuration(
                unixSocketPath: socketDirectory + "/.s.PGSQL.\(port)", username: username, password: password,
                database: database)
            return
        }
        guard !host.isEmpty else { throw invalid("it names no host") }
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable":
            tls = .disable
        case "allow", "prefer":
            tlsConfiguration.certificateVerification = .none
            tls = .prefer(tlsConfiguration)
        case "require":
            tlsConfiguration.certificateVerification = .none
            tls = .require(tlsConfiguration)
        case "verify-ca":
            tlsConfiguration.certificateVerification = .noHostnameVerification
            tls = .require(tlsConfiguration)
        case "verify-full":
            tlsConfiguration.certificateVerification = .fullVerification
            tls = .require(tlsConfiguration)
        default:
            throw invalid(
                "sslmode '\(sslMode)' is none of disable, allow, prefer, require, verify-ca and verify-full")
        }
        configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    /// ``configuration`` whose sessions refuse writes (`default_transaction_read_only`), for tools that only read:
    /// every commit of a store on it fails with ``HealthSync/StorageError/Code/readOnly``.
    public var readOnlyConfiguration: PostgresClient.Configuration {
        var configuration = configuration
        configuration.options.additionalStartupParameters.append(("default_transaction_read_only", "on"))
        return configuration
    }

    /// The URL without its password.
    public var description: String { redacted }

    /// `string` with the password of its user information (`user:password@`) replaced by `***`: how to show a URL
    /// that may not even parse.
    public static func redact(_ string: String) -> String {
        guard let scheme = string.range(of: "://") else { return string }
        let rest = string[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"),
            let colon = authority[..<at].firstIndex(of: ":")
        else { return string }
        return String(string[..<authority.index(after: colon)]) + "***" + String(string[at...])
    }
}
