import Foundation

/// One health check as a source reports it.
public struct CheckState: Sendable, Hashable, Codable {
    /// Unique within its sub-stream.
    public var checkStateId: String
    /// Human-readable name of the check.
    public var name: String
    /// The reported health.
    public var health: Health
    /// The topology element the check is about.
    public var topologyElementIdentifier: String
    /// Optional markdown explanation.
    public var message: String?

    /// Creates a check state.
    public init(
        checkStateId: String,
        name: String,
        health: Health,
        topologyElementIdentifier: String,
        message: String? = nil
    ) {
        self.checkStateId = checkStateId
        self.name = name
        self.health = health
        self.topologyElementIdentifier = topologyElementIdentifier
        self.message = message
    }
}

/// A check state as the store keeps it: the reported values plus the bookkeeping the processor needs.
public struct StoredCheckState: Sendable, Hashable {
    /// The sub-stream the check state belongs to.
    public var key: StreamKey
    /// The reported values.
    public var checkState: CheckState
    /// When a message last carried this check state (REPEAT_STATES expiry is measured from here).
    public var lastSeenAt: Date
    /// The number of the snapshot that last carried it; equal to the sub-stream's
    /// ``SubStreamRecord/snapshotSequence`` while a snapshot is open means *seen* in that snapshot.
    public var snapshotSequence: Int64
    /// The liveness its latest report promised (``Liveness``), `nil` for a check state without.
    public var liveness: CheckStateLiveness?

    /// Creates a stored check state.
    public init(
        key: StreamKey,
        checkState: CheckState,
        lastSeenAt: Date,
        snapshotSequence: Int64,
        liveness: CheckStateLiveness? = nil
    ) {
        self.key = key
        self.checkState = checkState
        self.lastSeenAt = lastSeenAt
        self.snapshotSequence = snapshotSequence
        self.liveness = liveness
    }

    /// When silence turns the check state `CRITICAL`: its liveness deadline, `nil` without liveness or once it has.
    public var silenceDeadline: Date? {
        guard let liveness, liveness.silencedAt == nil else { return nil }
        return liveness.deadline(after: lastSeenAt)
    }

    /// The check state id.
    public var checkStateId: String { checkState.checkStateId }
}
