/// A problem with a payload: what is wrong, where (JSON path, and line and column for malformed JSON), the
/// offending value and what was expected.
///
/// Depending on ``code`` it rejected a whole envelope (SPEC §2 level 1), one health message (level 2), one check
/// state (level 3), or is only a finding (an unknown key in strict mode).
public struct PayloadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Value: String, Sendable, Hashable {
            case malformedJSON
            case invalidEnvelope
            case bodyTooLarge
            case invalidMessage
            case invalidCheckState
            case unknownKey
            case invalidReport
        }

        let value: Value

        /// The bytes are not JSON. The whole envelope is rejected.
        public static let malformedJSON = Code(value: .malformedJSON)
        /// JSON, but not an intake envelope (not an object, `health` not an array, a bad `collection_timestamp`).
        public static let invalidEnvelope = Code(value: .invalidEnvelope)
        /// The body is larger than allowed. The whole envelope is rejected.
        public static let bodyTooLarge = Code(value: .bodyTooLarge)
        /// A health message that cannot be attributed or typed; that message is rejected.
        public static let invalidMessage = Code(value: .invalidMessage)
        /// A check state that is dropped; a `SubStreamTransformerError` is recorded for it.
        public static let invalidCheckState = Code(value: .invalidCheckState)
        /// A key this library does not know (reported in strict mode only).
        public static let unknownKey = Code(value: .unknownKey)
        /// A push report (status reporter, metrics) that is not valid; the whole report is rejected and nothing of
        /// it is applied.
        public static let invalidReport = Code(value: .invalidReport)

        /// Whether this code rejects a whole envelope.
        public var rejectsEnvelope: Bool {
            value == .malformedJSON || value == .invalidEnvelope || value == .bodyTooLarge || value == .invalidReport
        }

        /// A readable rendering.
        public var description: String { value.rawValue }
    }

    /// What kind of problem it is.
    public var code: Code
    /// The JSON path of the offending value, such as `health[2].check_states[5].health`; `$` is the document.
    public var path: String
    /// What is wrong, in words, naming what was expected.
    public var reason: String
    /// The offending value as compact JSON, cut to a readable length; `nil` when there is none.
    public var value: String?
    /// 1-based line of a malformed-JSON error, relative to the parsed text.
    public var line: Int?
    /// 1-based column of a malformed-JSON error.
    public var column: Int?

    /// Creates a payload error.
    public init(
        code: Code,
        path: String,
        reason: String,
        value: String? = nil,
        line: Int? = nil,
        column: Int? = nil
    ) {
        self.code = code
        self.path = path
        self.reason = reason
        self.value = value
        self.line = line
        self.column = column
    }

    /// `path: reason (found value)`, with the line and column first for malformed JSON.
    public var description: String {
        var text = ""
        if let line, let column { text += "line \(line), column \(column): " }
        text += "\(path): \(reason)"
        if let value { text += " (found \(value))" }
        return text
    }
}
