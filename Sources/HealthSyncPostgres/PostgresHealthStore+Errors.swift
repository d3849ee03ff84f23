import HealthSync
import PostgresNIO

extension PostgresHealthStore {
    /// Maps any failure to a ``HealthSync/StorageError``, so that callers never see PostgresNIO types.
    ///
    /// Server errors by SQLSTATE:
    /// - `23503` (a foreign key: the change refers to a stream or sub-stream another writer deleted), `40001` (a
    ///   serialization failure), `40P01` (a deadlock) and `23505` (a unique key) on any table but `receipt` →
    ///   ``HealthSync/StorageError/Code/conflict``: another writer got there first, and a fresh read will do.
    /// - `23505` on `receipt` → ``HealthSync/StorageError/Code/duplicateReceipt``: a commit with the same receipt
    ///   committed first.
    /// - `25006` (a read-only transaction, such as on a standby) → ``HealthSync/StorageError/Code/readOnly``.
    /// - `53100` (disk full) → ``HealthSync/StorageError/Code/full``; the rest of class `53` (out of memory, too many
    ///   connections), class `08` (connection exceptions), `57P01`–`57P03` (the server shutting down or starting),
    ///   `57014` (a statement cancelled, such as by `statement_timeout`), class `28` (authentication) and `3D000`
    ///   (no such database) → ``HealthSync/StorageError/Code/unavailable``.
    /// - Class `XX` (`data_corrupted`, `index_corrupted`) → ``HealthSync/StorageError/Code/corrupt``.
    ///
    /// A connection that cannot be opened or that broke, a pool that gave up connecting or is closed →
    /// ``HealthSync/StorageError/Code/unavailable``; a row the model cannot read →
    /// ``HealthSync/StorageError/Code/corrupt``; anything else, cancellation included →
    /// ``HealthSync/StorageError/Code/failed``.
    ///
    /// The message names what failed and the server's SQLSTATE, message and detail; it never holds the client's
    /// configuration, so no password reaches it.
    /// - Parameters:
    ///   - error: What the driver threw.
    ///   - what: What the store was doing, for the message.
    ///   - leased: Whether a connection of the pool was leased: a failure before that is the pool's, which could not
    ///     connect.
    static func storageError(_ error: any Error, while what: String, leased: Bool = true) -> StorageError {
        switch error {
        case let error as StorageError:
            return error
        case let error as PSQLError:
            return driverError(error, while: what)
        case is PostgresDecodingError:
            return StorageError(code: .corrupt, message: "\(what): a stored value has an unexpected type or is NULL")
        case is CancellationError:
            return StorageError(code: .failed, message: "\(what): cancelled")
        default:
            guard leased else {
                // The pool's own errors (it gave up connecting after its circuit breaker tripped).
                return StorageError(
                    code: .unavailable, message: "\(what): no connection to the database could be opened (\(error))")
            }
            return StorageError(code: .failed, message: "\(what): \(error)")
        }
    }

    /// Maps a PostgresNIO error (see ``storageError(_:while:leased:)``).
    static func driverError(_ error: PSQLError, while what: String) -> StorageError {
        guard error.code == .server, let server = error.serverInfo else {
            let code: StorageError.Code
            switch error.code {
            case .queryCancelled:
                return StorageError(code: .failed, message: "\(what): cancelled")
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed,
                .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest, .saslError,
                .unsupportedAuthMechanism, .authMechanismRequiresPassword:
                code = .unavailable
            default:
                code = .failed
            }
            var message = "\(what): \(error.code)"
            if let underlying = error.underlying { message += " (\(underlying))" }
            return StorageError(code: code, message: message)
        }
        let state = server[.sqlState] ?? ""
        var message = "\(what): \(server[.message] ?? "the server reported an error") (SQLSTATE \(state))"
        if let detail = server[.detail] { message += ": \(detail)" }
        let code: StorageError.Code
        switch state {
        case "23505" where server[.tableName] == "receipt":
            code = .duplicateReceipt
        case "23503":
            return StorageError(
                code: .conflict,
                message: "\(what): the change refers to a stream or sub-stream that is not stored (deleted by another "
                    + "writer?): \(message)")
        case "23505", "40001", "40P01":
            code = .conflict
        case "25006":
            code = .readOnly
        case "53100":
            code = .full
        case "57P01", "57P02", "57P03", "57014", "3D000":
            code = .unavailable
        case _ where state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("28"):
            code = .unavailable
        case _ where state.hasPrefix("XX"):
            code = .corrupt
        default:
            code = .failed
        }
        return StorageError(code: code, message: message)
    }

    /// The error for a stored value that none of the model's cases spell.
    static func corrupt(_ column: String, _ value: String) -> StorageError {
        StorageError(code: .corrupt, message: "unexpected value '\(value)' in column \(column)")
    }
}
