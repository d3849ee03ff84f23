import Foundation

/// Why a check state was deleted.
public enum DeletionReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// A completed snapshot did not carry it.
    case snapshotDiff
    /// An automatic stop (missing `stop_snapshot`) ran the diff.
    case automaticStop
    /// REPEAT_STATES: not seen for `expiry_interval_s`.
    case expiry
    /// Its sub-stream expired.
    case subStreamExpired
    /// Its stream was deleted.
    case streamDeleted
    /// TRANSACTIONAL_INCREMENTS `{checkStateId, delete: true}`.
    case deleteRequest
}

/// One recorded change (SPEC §6 events): what history, audit and notifications are built on.
public struct HealthEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        /// A stream was first seen; ``HealthEvent/detail`` holds its model.
        case streamCreated
        /// A stream was deleted by request.
        case streamDeleted
        /// A sub-stream was set up.
        case subStreamCreated
        /// A sub-stream expired and was removed.
        case subStreamExpired
        /// A snapshot opened.
        case snapshotStarted
        /// A snapshot completed by `stop_snapshot`; ``HealthEvent/detail`` is `clean` or `unclean`.
        case snapshotCompleted
        /// An open snapshot was replaced by a new `start_snapshot` without deletions.
        case snapshotAbandoned
        /// An open snapshot was stopped automatically at `startedAt + 2 × repeat`.
        case snapshotAutoStopped
        /// A check state was created; ``HealthEvent/checkState`` holds it.
        case checkStateCreated
        /// A check state changed; ``HealthEvent/checkState`` holds the new values and
        /// ``HealthEvent/previousHealth`` the old health.
        case checkStateUpdated
        /// A check state was deleted; ``HealthEvent/checkState`` holds its last values.
        case checkStateDeleted
        /// An error record opened; ``HealthEvent/errorCode`` names it.
        case errorOpened
        /// An error record closed (remediated or cleared).
        case errorClosed
    }

    /// The store's sequence number, assigned on commit (`nil` before).
    public var sequence: Int64?
    /// When it happened on the processor's clock; for a timer, its deadline.
    public var at: Date
    /// What happened.
    public var kind: Kind
    /// The stream URN.
    public var urn: String
    /// The sub-stream (`""` for main).
    public var subStreamId: String
    /// The check state's values (created, updated: new values; deleted: last values).
    public var checkState: CheckState?
    /// The health before an update.
    public var previousHealth: Health?
    /// Why a check state was deleted.
    public var deletionReason: DeletionReason?
    /// The error code of `errorOpened` and `errorClosed`.
    public var errorCode: StreamErrorCode?
    /// Free text: the error message, the closing cause, the snapshot's cleanliness.
    public var detail: String?

    /// Creates an event.
    public init(
        sequence: Int64? = nil,
        at: Date,
        kind: Kind,
        urn: String,
        subStreamId: String,
        checkState: CheckState? = nil,
        previousHealth: Health? = nil,
        deletionReason: DeletionReason? = nil,
        errorCode: StreamErrorCode? = nil,
        detail: String? = nil
    ) {
        self.sequence = sequence
        self.at = at
        self.kind = kind
        self.urn = urn
        self.subStreamId = subStreamId
        self.checkState = checkState
        self.previousHealth = previousHealth
        self.deletionReason = deletionReason
        self.errorCode = errorCode
        self.detail = detail
    }

    /// The check state id, for check-state events.
    public var checkStateId: String? { checkState?.checkStateId }
}

extension HealthEvent {
    /// How the detail of a `checkStateUpdated` event starts when silence turned a live check state `CRITICAL`
    /// (``Liveness``): "no report within 80 s (interval 60 s + 20 s grace)".
    public static let silenceDetailPrefix = "no report within "

    /// Whether silence (liveness) caused the event: a timer's effect, at the check state's deadline.
    public var isSilence: Bool {
        kind == .checkStateUpdated && detail?.hasPrefix(Self.silenceDetailPrefix) == true
    }
}
