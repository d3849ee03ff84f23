import Foundation

/// Identifies an error record: repeats of one code on one scope aggregate into one record.
public struct ErrorKey: Sendable, Hashable, Comparable {
    /// The stream URN.
    public var urn: String
    /// `true` for stream-level errors; `false` for errors of the sub-stream ``subStreamId``.
    public var streamLevel: Bool
    /// The sub-stream the error is about (`""` for main). Stream-level errors name one too, such as the
    /// sub-stream that was missing or expired.
    public var subStreamId: String
    /// The error code.
    public var code: StreamErrorCode

    /// Creates a key.
    public init(urn: String, streamLevel: Bool, subStreamId: String, code: StreamErrorCode) {
        self.urn = urn
        self.streamLevel = streamLevel
        self.subStreamId = subStreamId
        self.code = code
    }

    /// Orders by URN, sub-stream (main first), stream level first, then code.
    public static func < (lhs: ErrorKey, rhs: ErrorKey) -> Bool {
        (lhs.urn, lhs.subStreamId, lhs.streamLevel ? 0 : 1, lhs.code.rawValue)
            < (rhs.urn, rhs.subStreamId, rhs.streamLevel ? 0 : 1, rhs.code.rawValue)
    }
}

/// An open error on a stream or sub-stream (SPEC §6). It is removed when remediated or cleared.
public struct ErrorRecord: Sendable, Hashable {
    /// Which record this is.
    public var key: ErrorKey
    /// `ERROR` or `WARN`.
    public var level: ErrorLevel
    /// A human explanation of the latest occurrence.
    public var message: String
    /// How many times it was raised since it opened.
    public var count: Int64
    /// When it opened.
    public var firstSeenAt: Date
    /// When it was last raised.
    public var lastSeenAt: Date

    /// Creates an error record.
    public init(key: ErrorKey, level: ErrorLevel, message: String, count: Int64, firstSeenAt: Date, lastSeenAt: Date) {
        self.key = key
        self.level = level
        self.message = message
        self.count = count
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
    }

    /// The error code.
    public var code: StreamErrorCode { key.code }
}
