/// How a stream's messages are to be interpreted. A stream keeps one model for its whole life.
public enum ConsistencyModel: String, Sendable, Hashable, CaseIterable, Codable {
    /// Complete snapshots between `start_snapshot` and `stop_snapshot`; what a snapshot leaves out is deleted.
    /// The default when a message names no model.
    case repeatSnapshots = "REPEAT_SNAPSHOTS"
    /// Check states are refreshed by repetition and expire when not repeated within `expiry_interval_s`.
    case repeatStates = "REPEAT_STATES"
    /// Ordered increments chained by checkpoints; data stays until explicitly deleted.
    case transactionalIncrements = "TRANSACTIONAL_INCREMENTS"
}
