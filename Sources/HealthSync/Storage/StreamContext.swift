/// What processing a message needs of its stream, read together by
/// ``HealthStore/batchContext(of:due:)``: the stream record, the stream's open errors, the record of
/// one of its sub-streams and, when asked for, that sub-stream's check states.
public struct StreamContext: Sendable, Hashable {
    /// The stream record, or `nil` when the stream is not stored.
    public var stream: StreamRecord?
    /// The open errors of the stream, stream-level and of every sub-stream, sorted by ``ErrorKey``.
    public var errors: [ErrorRecord]
    /// The sub-stream record, or `nil` when the sub-stream is not stored.
    public var subStream: SubStreamRecord?

    /// Every check state of the sub-stream, sorted by id, when they were asked for and the sub-stream is stored;
    /// otherwise `nil`.
    public var checkStates: [StoredCheckState]?

    /// Where each of ``checkStates`` is in it, by id, when the store had that at hand (the SQLite store's cache
    /// does): the processor then stages them without hashing each id again. Not part of the context's value: two
    /// contexts with the same check states are equal whether or not either has it.
    package var checkStatePositions: [String: Int]?

    /// Creates a context.
    public init(
        stream: StreamRecord?,
        errors: [ErrorRecord],
        subStream: SubStreamRecord?,
        checkStates: [StoredCheckState]? = nil
    ) {
        self.stream = stream
        self.errors = errors
        self.subStream = subStream
        self.checkStates = checkStates
    }

    /// Whether the contexts hold the same records, errors and check states (``checkStatePositions`` aside).
    public static func == (lhs: StreamContext, rhs: StreamContext) -> Bool {
        lhs.stream == rhs.stream && lhs.errors == rhs.errors && lhs.subStream == rhs.subStream
            && lhs.checkStates == rhs.checkStates
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(stream)
        hasher.combine(errors)
        hasher.combine(subStream)
        hasher.combine(checkStates)
    }
}

/// What a batch of envelopes reads first, read together by
/// ``HealthStore/batchContext(of:due:)``: the sub-streams whose timers are due, and the context of every
/// sub-stream the envelopes name.
public struct BatchContext: Sendable, Hashable {
    /// The sub-streams whose earliest deadline is before the time asked for, earliest first, at most the limit.
    public var due: [StreamKey]
    /// One context per request, in the order of the requests.
    public var contexts: [StreamContext]

    /// Creates a batch context.
    public init(due: [StreamKey], contexts: [StreamContext]) {
        self.due = due
        self.contexts = contexts
    }
}
