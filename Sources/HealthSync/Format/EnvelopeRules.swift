import Foundation

/// The field rules of the wire format ([Docs/wire-format.md](../../Docs/wire-format.md)) in one place: the full
/// decoder, which names what is wrong and where, and the fast path, which only tells whether an envelope is the
/// common valid kind, both ask these, so that the two cannot disagree on what is valid (`EnvelopeFastPathTests`
/// compares them on fixtures and on generated and mutated envelopes).
public enum EnvelopeRules {
    // MARK: Times and intervals

    /// The latest `collection_timestamp`: 253402300799, 9999-12-31T23:59:59Z (the earliest is 0). Command-line TIME
    /// arguments take the same bounds.
    public static let latestTimestamp: Double = 253_402_300_799

    /// Whether `seconds` is a `collection_timestamp`: finite, from 0 to ``latestTimestamp``.
    static func isValidTimestamp(_ seconds: Double) -> Bool {
        seconds.isFinite && seconds >= 0 && seconds <= latestTimestamp
    }

    /// What a rejected `collection_timestamp` was expected to be.
    static let timestampExpectation = "expected epoch seconds between 0 and 253402300799"

    /// Whether `seconds` is an interval (`expiry_interval_s`): from 0 to `limit`
    /// (``EnvelopeDecoder/Configuration/maximumIntervalSeconds``).
    static func isValidInterval(_ seconds: Int, limit: Int) -> Bool {
        seconds >= 0 && seconds <= limit
    }

    /// Whether `seconds` is a `repeat_interval_s`: an interval of at least 1.
    static func isValidRepeatInterval(_ seconds: Int, limit: Int) -> Bool {
        seconds >= 1 && isValidInterval(seconds, limit: limit)
    }

    /// Strict mode: a `start_snapshot` of a non-main sub-stream must set an `expiry_interval_s` above 0 (a
    /// sub-stream nobody ends would otherwise live for ever).
    static func lacksRequiredExpiry(_ start: Intervals, of key: StreamKey, strict: Bool) -> Bool {
        strict && !key.isMain && start.expiry == nil
    }

    // MARK: Streams

    /// A stream URN: "urn:" (any case) and more, at most 1024 bytes, no whitespace or control characters.
    static func isValidURN(_ urn: String) -> Bool {
        urn.utf8.count > 4 && urn.utf8.count <= 1024 && urn.lowercased().hasPrefix("urn:")
            && !urn.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
            )
    }

    /// A sub-stream id: at most 1024 bytes, no control characters.
    static func isValidSubStreamId(_ id: String) -> Bool {
        id.utf8.count <= 1024 && !id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
    }

    // MARK: Check states

    /// The kinds of a check state's text fields, each with its own limits (Docs/wire-format.md, "Text fields").
    enum TextField {
        /// `checkStateId` and `topologyElementIdentifier`: at most ``maximumIdentifierBytes``, no control character.
        case identifier
        /// `name`: at most ``maximumNameBytes``; tab, line feed and carriage return are allowed.
        case name
        /// `message` (markdown): at most ``maximumMessageBytes``; tab, line feed and carriage return are allowed.
        case message
    }

    /// The most UTF-8 bytes of a `checkStateId` or a `topologyElementIdentifier` (as of a URN or a sub-stream id).
    public static let maximumIdentifierBytes = 1024
    /// The most UTF-8 bytes of a check state's `name`.
    public static let maximumNameBytes = 1024
    /// The most UTF-8 bytes of a check state's `message`: 64 KiB, pages of markdown.
    public static let maximumMessageBytes = 65_536

    /// What is wrong with a check state's text field, as the expectation a rejection states, or `nil` when it may be
    /// stored: too long, or a control character (U+0000–U+001F, U+007F) other than the tab, line feed and carriage
    /// return that a name or a markdown message may hold. Control characters are single bytes in UTF-8, so this
    /// scans bytes; the fast path and the full decoder both call it, so they agree.
    static func textProblem(_ text: String, _ field: TextField) -> String? {
        let limit: Int
        let allowsLineBreaks: Bool
        switch field {
        case .identifier: (limit, allowsLineBreaks) = (maximumIdentifierBytes, false)
        case .name: (limit, allowsLineBreaks) = (maximumNameBytes, true)
        case .message: (limit, allowsLineBreaks) = (maximumMessageBytes, true)
        }
        let what = field == .message ? "a string or null" : (field == .name ? "a string" : "a non-empty string")
        let bytes = text.utf8
        if bytes.count > limit {
            return "expected \(what) of at most \(limit) bytes, found \(bytes.count) bytes"
        }
        if mayHoldControl(bytes), bytes.contains(where: { isForbiddenControl($0, allowsLineBreaks: allowsLineBreaks) })
        {
            let allowed = allowsLineBreaks ? " other than tab, line feed and carriage return" : ""
            return "expected \(what) without control characters\(allowed) (U+0000 to U+001F, U+007F)"
        }
        return nil
    }

    /// Whether `bytes` may hold a control character (U+0000–U+001F, U+007F): `false` is certain. A native string's
    /// bytes are checked in one branch-free pass the compiler vectorizes, several times faster than a search byte by
    /// byte through the view; the few texts with a control character (line breaks) are then searched as before.
    private static func mayHoldControl(_ bytes: String.UTF8View) -> Bool {
        let found = bytes.withContiguousStorageIfAvailable { buffer -> Bool in
            var control: UInt8 = 0
            for byte in buffer {
                control |= (byte < 0x20 ? 1 : 0) | (byte == 0x7F ? 1 : 0)
            }
            return control != 0
        }
        return found ?? true
    }

    /// Whether a UTF-8 byte is a control character that a field must not hold.
    private static func isForbiddenControl(_ byte: UInt8, allowsLineBreaks: Bool) -> Bool {
        guard byte < 0x20 || byte == 0x7F else { return false }
        return !(allowsLineBreaks && (byte == 0x09 || byte == 0x0A || byte == 0x0D))
    }

    // MARK: Keys

    static let envelopeKeys: Set<String> = [
        "collection_timestamp", "internalHostname", "events", "metrics", "service_checks", "topologies", "health",
    ]
    static let messageKeys: Set<String> = [
        "stream", "consistency_model", "check_states", "start_snapshot", "stop_snapshot", "expiry", "increment",
    ]
    static let checkStateKeys: Set<String> = [
        "checkStateId", "name", "health", "topologyElementIdentifier", "message", "delete",
    ]
}
