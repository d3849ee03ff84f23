import Foundation
import HTTPTypes
import Hummingbird

/// Checks the API key of a request against the configured keys, in time that does not depend on how much of a key
/// matched.
///
/// The key comes from the `api_key` query parameter or the `sts-api-key` header (the StackState agent uses either).
/// A request that carries two different keys (header and query, or either twice) is refused whether or not one of
/// them is valid: no key silently wins over another.
/// Every configured key is compared, whatever the outcome of earlier comparisons, and each comparison reads every
/// byte of the longer of the two keys.
struct APIKeyAuthenticator: Sendable {
    private let keys: [[UInt8]]
    private let required: Bool

    /// - Parameters:
    ///   - keys: the accepted keys.
    ///   - required: whether a key is needed at all (`false` with `--insecure-no-auth`).
    init(keys: [String], required: Bool) {
        self.keys = keys.map { Array($0.utf8) }
        self.required = required
    }

    /// Lets the request through or throws.
    /// - Returns: the accepted key; `nil` when no key is required.
    /// - Throws: ``HealthSyncHTTPError`` with ``HealthSyncHTTPError/Code/conflictingAPIKeys`` when the request
    ///   carries two different keys, ``HealthSyncHTTPError/Code/unauthorized`` when the key is missing or wrong.
    ///   The message never repeats a key.
    @discardableResult
    func authorize(_ request: Request) throws(HealthSyncHTTPError) -> String? {
        guard required else { return nil }
        let candidates = request.headers[values: .stsAPIKey] + request.uri.queryParameters.getAll("api_key")
        if let first = candidates.first, candidates.contains(where: { $0 != first }) {
            throw HealthSyncHTTPError(
                code: .conflictingAPIKeys,
                message: "the request carries different API keys (in the sts-api-key header and the api_key query "
                    + "parameter, or one of them twice); send one key"
            )
        }
        guard let candidate = candidates.first else {
            throw HealthSyncHTTPError(
                code: .unauthorized,
                message: "an API key is required: pass it in the api_key query parameter or the sts-api-key header"
            )
        }
        guard accepts(candidate) else {
            throw HealthSyncHTTPError(code: .unauthorized, message: "the API key is not valid")
        }
        return candidate
    }

    /// Lets a status reporter's request through or throws: HTTP Basic authentication whose password is one of the
    /// keys (Crisp and Vigil reporters send an empty user name and their token; the user name is not checked).
    /// - Throws: ``HealthSyncHTTPError/Code/unauthorized`` with the challenge `Basic realm="healthsync"` when the
    ///   `Authorization` header is missing, not Basic, not base64 of `user:password`, or the password is not a key.
    func authorizeBasic(_ request: Request) throws(HealthSyncHTTPError) {
        guard required else { return }
        let values = request.headers[values: .authorization]
        var problem: String?
        if values.isEmpty {
            problem = "HTTP Basic authentication is required: an empty user name and an API key as the password"
        } else if values.count > 1 {
            problem = "the request carries \(values.count) Authorization headers; send one"
        } else if let password = Self.basicPassword(values[0]) {
            if !accepts(password) { problem = "the token (the Basic password) is not a valid API key" }
        } else {
            problem = "the Authorization header is not Basic with base64 of user:password"
        }
        guard let problem else { return }
        var error = HealthSyncHTTPError(code: .unauthorized, message: problem)
        error.challenge = "Basic realm=\"healthsync\""
        throw error
    }

    /// The password of a `Basic` credential (scheme in any case), or `nil` when it is not one.
    static func basicPassword(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return String(text[text.index(after: colon)...])
    }

    /// Whether `candidate` is one of the keys.
    func accepts(_ candidate: String) -> Bool {
        let bytes = Array(candidate.utf8)
        var matched = false
        for key in keys {
            matched = Self.constantTimeEquals(bytes, key) || matched
        }
        return matched
    }

    /// Byte equality whose running time depends only on the lengths.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
