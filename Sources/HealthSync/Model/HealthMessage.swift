import Foundation

/// The repeat and expiry intervals a source declares, in whole seconds.
public struct Intervals: Sendable, Hashable {
    /// How often the source promises to send (`repeat_interval_s`), at least 1.
    public var repeatInterval: Int
    /// How long state lives without being refreshed (`expiry_interval_s`); `0` means no expiry.
    public var expiryInterval: Int

    /// Creates intervals.
    public init(repeatInterval: Int, expiryInterval: Int = 0) {
        self.repeatInterval = repeatInterval
        self.expiryInterval = expiryInterval
    }

    /// The expiry interval, or `nil` when there is no expiry.
    public var expiry: Int? { expiryInterval > 0 ? expiryInterval : nil }
}

/// The `increment` of a TRANSACTIONAL_INCREMENTS message.
public struct Increment: Sendable, Hashable {
    /// The checkpoint this message brings the sub-stream to.
    public var checkpoint: Checkpoint
    /// The checkpoint the source believes the sub-stream is at; absent on a source's first message.
    public var previousCheckpoint: Checkpoint?

    /// Creates an increment.
    public init(checkpoint: Checkpoint, previousCheckpoint: Checkpoint? = nil) {
        self.checkpoint = checkpoint
        self.previousCheckpoint = previousCheckpoint
    }
}

/// One entry of a message's `check_states`, already validated.
public enum CheckStateInput: Sendable, Hashable {
    /// A valid check state to create or update.
    case upsert(CheckState)
    /// `{checkStateId, delete: true}` (TRANSACTIONAL_INCREMENTS only).
    case delete(checkStateId: String)
    /// An entry that failed validation (SPEC §2 level 3). `checkStateId` is set when it was readable.
    case invalid(checkStateId: String?, problem: PayloadError)

    /// The id the entry names, if it is readable.
    public var checkStateId: String? {
        switch self {
        case .upsert(let state): state.checkStateId
        case .delete(let id): id
        case .invalid(let id, _): id
        }
    }
}

/// A decoded health message: one stream/sub-stream, its model, the model's setup and its check states.
///
/// Within one message the processor applies the setup first (`start_snapshot` or `expiry`), then the check
/// states in order, then `stop_snapshot`, whatever the key order in the JSON.
public struct HealthMessage: Sendable, Hashable {
    /// Which sub-stream the message is for.
    public var stream: StreamKey
    /// The message's consistency model (`REPEAT_SNAPSHOTS` when the field was absent).
    public var consistencyModel: ConsistencyModel
    /// `start_snapshot` (REPEAT_SNAPSHOTS).
    public var startSnapshot: Intervals?
    /// Whether `stop_snapshot` is present (REPEAT_SNAPSHOTS).
    public var stopSnapshot: Bool
    /// `expiry` (REPEAT_STATES).
    public var expiry: Intervals?
    /// `increment` (TRANSACTIONAL_INCREMENTS; always set for that model).
    public var increment: Increment?
    /// The entries of `check_states`, duplicates removed (the last entry of an id wins).
    public var checkStates: [CheckStateInput]
    /// Where the message stands in its envelope, such as `health[2]`.
    public var path: String
    /// The liveness promise of the check states the message upserts (REPEAT_STATES only; other models ignore it).
    /// `nil` for StackState envelopes; the translations of push reports set it.
    public var liveness: Liveness?

    /// Creates a message.
    public init(
        stream: StreamKey,
        consistencyModel: ConsistencyModel = .repeatSnapshots,
        startSnapshot: Intervals? = nil,
        stopSnapshot: Bool = false,
        expiry: Intervals? = nil,
        increment: Increment? = nil,
        checkStates: [CheckStateInput] = [],
        path: String = "health[0]",
        liveness: Liveness? = nil
    ) {
        self.stream = stream
        self.consistencyModel = consistencyModel
        self.startSnapshot = startSnapshot
        self.stopSnapshot = stopSnapshot
        self.expiry = expiry
        self.increment = increment
        self.checkStates = checkStates
        self.path = path
        self.liveness = liveness
    }
}

/// A decoded intake envelope: the messages that passed validation, and what did not.
public struct Envelope: Sendable, Hashable {
    /// `collection_timestamp`, when present.
    public var collectionTimestamp: Date?
    /// `internalHostname`, when present.
    public var internalHostname: String?
    /// The valid messages, in array order.
    public var messages: [HealthMessage]
    /// Messages rejected at SPEC §2 level 2, in array order. They are reported, never applied.
    public var rejections: [PayloadError]
    /// Findings that do not stop anything: unknown keys (strict mode only).
    public var warnings: [PayloadError]

    /// Creates an envelope.
    public init(
        collectionTimestamp: Date? = nil,
        internalHostname: String? = nil,
        messages: [HealthMessage],
        rejections: [PayloadError] = [],
        warnings: [PayloadError] = []
    ) {
        self.collectionTimestamp = collectionTimestamp
        self.internalHostname = internalHostname
        self.messages = messages
        self.rejections = rejections
        self.warnings = warnings
    }
}
