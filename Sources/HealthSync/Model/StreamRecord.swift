import Foundation

/// A stream as stored: its URN and its locked consistency model.
public struct StreamRecord: Sendable, Hashable {
    /// The stream URN.
    public var urn: String
    /// The model the stream's first message fixed; it stays until the stream is deleted.
    public var consistencyModel: ConsistencyModel
    /// When the stream was first seen.
    public var createdAt: Date
    /// Optimistic-concurrency version: the version the record was read at, `0` for a record not yet stored.
    /// Stores reject a write whose version no longer matches (``StorageError/Code/conflict``).
    public var version: Int64

    /// Creates a stream record.
    public init(urn: String, consistencyModel: ConsistencyModel, createdAt: Date, version: Int64 = 0) {
        self.urn = urn
        self.consistencyModel = consistencyModel
        self.createdAt = createdAt
        self.version = version
    }
}

/// The snapshot a REPEAT_SNAPSHOTS sub-stream has open.
public struct OpenSnapshot: Sendable, Hashable {
    /// When its `start_snapshot` was applied.
    public var startedAt: Date
    /// `false` once an `ERROR`-level error was raised on the sub-stream since (and including) its start.
    public var clean: Bool

    /// Creates an open snapshot.
    public init(startedAt: Date, clean: Bool) {
        self.startedAt = startedAt
        self.clean = clean
    }
}

/// The absolute times at which a sub-stream's timers fire. A timer fires when the clock moves past it.
public struct SubStreamDeadlines: Sendable, Hashable {
    /// When `SubStreamLateData` is raised if no snapshot completes (REPEAT_SNAPSHOTS) or no message arrives
    /// (REPEAT_STATES) before it.
    public var lateData: Date?
    /// When an open snapshot is stopped automatically (`startedAt + 2 × repeat`).
    public var missingStop: Date?
    /// When the sub-stream expires for lack of messages (`lastMessageAt + expiry`).
    public var expiry: Date?
    /// REPEAT_STATES: no check state of the sub-stream expires before this time (a lower bound; the processor
    /// refines it when it fires).
    public var checkStateExpiry: Date?
    /// Liveness (``Liveness``): no live check state of the sub-stream turns `CRITICAL` for silence before this time
    /// (a lower bound, like ``checkStateExpiry``; the processor refines it when it fires).
    public var silence: Date?

    /// Creates deadlines.
    public init(
        lateData: Date? = nil,
        missingStop: Date? = nil,
        expiry: Date? = nil,
        checkStateExpiry: Date? = nil,
        silence: Date? = nil
    ) {
        self.lateData = lateData
        self.missingStop = missingStop
        self.expiry = expiry
        self.checkStateExpiry = checkStateExpiry
        self.silence = silence
    }

    /// The earliest deadline, which stores index to find due sub-streams in one query.
    public var earliest: Date? {
        [missingStop, lateData, expiry, checkStateExpiry, silence].compactMap { $0 }.min()
    }
}

/// Counters kept per sub-stream (SPEC §6 metrics).
public struct SubStreamMetrics: Sendable, Hashable {
    /// Messages applied to the sub-stream.
    public var messages: Int64
    /// Check states created.
    public var creates: Int64
    /// Check states updated (a repeat of an identical check state is not an update).
    public var updates: Int64
    /// Check states deleted, for any reason.
    public var deletes: Int64
    /// Sum over messages of processing time minus receive time, in seconds.
    public var totalLatency: Double
    /// The latency of the latest message, in seconds.
    public var lastLatency: Double

    /// Creates counters.
    public init(
        messages: Int64 = 0,
        creates: Int64 = 0,
        updates: Int64 = 0,
        deletes: Int64 = 0,
        totalLatency: Double = 0,
        lastLatency: Double = 0
    ) {
        self.messages = messages
        self.creates = creates
        self.updates = updates
        self.deletes = deletes
        self.totalLatency = totalLatency
        self.lastLatency = lastLatency
    }
}

/// A sub-stream as stored: its life cycle, intervals or checkpoint, deadlines and counters.
public struct SubStreamRecord: Sendable, Hashable {
    /// The stream URN and sub-stream id.
    public var key: StreamKey
    /// When the sub-stream was set up.
    public var createdAt: Date
    /// The declared intervals (REPEAT_SNAPSHOTS and REPEAT_STATES); `nil` for TRANSACTIONAL_INCREMENTS.
    public var intervals: Intervals?
    /// The open snapshot, if any (REPEAT_SNAPSHOTS).
    public var openSnapshot: OpenSnapshot?
    /// The number of the latest snapshot started; check states seen in it carry this number.
    public var snapshotSequence: Int64
    /// When the latest snapshot completed by a `stop_snapshot`.
    public var lastCompletedAt: Date?
    /// When the latest message for the sub-stream was applied.
    public var lastMessageAt: Date
    /// The latest checkpoint (TRANSACTIONAL_INCREMENTS).
    public var checkpoint: Checkpoint?
    /// The timers.
    public var deadlines: SubStreamDeadlines
    /// The counters.
    public var metrics: SubStreamMetrics
    /// Optimistic-concurrency version, as for ``StreamRecord/version``.
    public var version: Int64

    /// Creates a sub-stream record.
    public init(
        key: StreamKey,
        createdAt: Date,
        intervals: Intervals? = nil,
        openSnapshot: OpenSnapshot? = nil,
        snapshotSequence: Int64 = 0,
        lastCompletedAt: Date? = nil,
        lastMessageAt: Date,
        checkpoint: Checkpoint? = nil,
        deadlines: SubStreamDeadlines = SubStreamDeadlines(),
        metrics: SubStreamMetrics = SubStreamMetrics(),
        version: Int64 = 0
    ) {
        self.key = key
        self.createdAt = createdAt
        self.intervals = intervals
        self.openSnapshot = openSnapshot
        self.snapshotSequence = snapshotSequence
        self.lastCompletedAt = lastCompletedAt
        self.lastMessageAt = lastMessageAt
        self.checkpoint = checkpoint
        self.deadlines = deadlines
        self.metrics = metrics
        self.version = version
    }

    /// The earliest deadline (stored and indexed by stores).
    public var nextDeadline: Date? { deadlines.earliest }
}

/// One line of the stream list.
public struct StreamSummary: Sendable, Hashable {
    /// The stream URN.
    public var urn: String
    /// The stream's model.
    public var consistencyModel: ConsistencyModel
    /// How many sub-streams it has (the main one included).
    public var subStreamCount: Int
    /// How many check states it holds over all sub-streams.
    public var checkStateCount: Int

    /// Creates a summary.
    public init(urn: String, consistencyModel: ConsistencyModel, subStreamCount: Int, checkStateCount: Int) {
        self.urn = urn
        self.consistencyModel = consistencyModel
        self.subStreamCount = subStreamCount
        self.checkStateCount = checkStateCount
    }
}
