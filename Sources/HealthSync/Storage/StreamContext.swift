/// What processing a message needs of its stream, read together by ``HealthStore/streamContext(of:)``: the stream
/// record, the stream's open errors and the record of one of its sub-streams.
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
}
