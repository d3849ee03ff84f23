/// The error codes a stream or sub-stream can carry (SPEC §6), spelled as StackState spells them.
public enum StreamErrorCode: String, Sendable, Hashable, CaseIterable, Codable {
    /// Check states for a sub-stream that was never set up (stream level).
    case streamMissingSubStream = "StreamMissingSubStream"
    /// A message whose model differs from the stream's (stream level).
    case streamConsistencyModelMismatch = "StreamConsistencyModelMismatch"
    /// `start_snapshot` while a snapshot was open.
    case subStreamStartWithoutStop = "SubStreamStartWithoutStop"
    /// `stop_snapshot` with no snapshot open.
    case subStreamStopWithoutStart = "SubStreamStopWithoutStart"
    /// A snapshot stayed open for twice the repeat interval and was stopped automatically.
    case subStreamMissingStop = "SubStreamMissingStop"
    /// Check states outside a snapshot.
    case subStreamCheckStateOutsideSnapshot = "SubStreamCheckStateOutsideSnapshot"
    /// `repeat_interval_s` above 1800 seconds.
    case subStreamRepeatIntervalTooHigh = "SubStreamRepeatIntervalTooHigh"
    /// The source missed its repeat interval.
    case subStreamLateData = "SubStreamLateData"
    /// The sub-stream was not refreshed within its expiry interval and was removed (stream level).
    case subStreamExpired = "SubStreamExpired"
    /// A check state failed validation and was dropped.
    case subStreamTransformerError = "SubStreamTransformerError"
    /// A checkpoint older than the sub-stream's.
    case subStreamOutdatedCheckpoint = "SubStreamOutdatedCheckpoint"
    /// A later increment without `previous_checkpoint`.
    case subStreamMissingCheckpoint = "SubStreamMissingCheckpoint"
    /// `previous_checkpoint` that is not the sub-stream's checkpoint.
    case subStreamInvalidCheckpoint = "SubStreamInvalidCheckpoint"
    /// A delete of a check state the sub-stream does not have.
    case subStreamUnknownCheckState = "SubStreamUnknownCheckState"
    /// A non-main sub-stream set up without an expiry interval (a warning).
    case subStreamWithoutExpiry = "SubStreamWithoutExpiry"

    /// `WARN` for late data, outdated checkpoints and warnings; `ERROR` for everything that drops or deletes data.
    public var level: ErrorLevel {
        switch self {
        case .subStreamLateData, .subStreamOutdatedCheckpoint, .subStreamWithoutExpiry: .warn
        default: .error
        }
    }

    /// The codes that close when a clean snapshot completes (REPEAT_SNAPSHOTS), or on the next message that raises
    /// no error (REPEAT_STATES, TRANSACTIONAL_INCREMENTS).
    static let closedByCleanSnapshot: Set<StreamErrorCode> = [
        .subStreamStartWithoutStop, .subStreamStopWithoutStart, .subStreamMissingStop,
        .subStreamCheckStateOutsideSnapshot, .subStreamRepeatIntervalTooHigh, .subStreamTransformerError,
    ]

    /// The checkpoint errors, which close on the next correctly chained increment.
    static let checkpointErrors: Set<StreamErrorCode> = [
        .subStreamOutdatedCheckpoint, .subStreamMissingCheckpoint, .subStreamInvalidCheckpoint,
    ]
}

/// The severity of an error record.
public enum ErrorLevel: String, Sendable, Hashable, Codable {
    /// Data was dropped or deleted.
    case error = "ERROR"
    /// Late data, outdated checkpoints and warnings.
    case warn = "WARN"
}
