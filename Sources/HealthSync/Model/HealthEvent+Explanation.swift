import Foundation

extension HealthEvent {
    /// Why the event happened, in words, as `healthsync history` and `--verbose` logs show it:
    /// `deleted by snapshot diff`, `CLEAR → CRITICAL`, `SubStreamLateData opened: …`.
    public var explanation: String {
        switch kind {
        case .streamCreated:
            return "first message" + (detail.map { " (\($0))" } ?? "")
        case .streamDeleted:
            return "delete request"
        case .subStreamCreated:
            return "set up by its first start_snapshot or expiry"
        case .subStreamExpired:
            return "no message within expiry_interval_s"
        case .snapshotStarted:
            return "start_snapshot" + (detail.map { " (\($0))" } ?? "")
        case .snapshotCompleted:
            return "stop_snapshot (\(detail ?? "completed"))"
        case .snapshotAbandoned:
            return "start_snapshot while open" + (detail.map { "; \($0)" } ?? "")
        case .snapshotAutoStopped:
            return "no stop_snapshot within 2 × repeat_interval_s" + (detail.map { "; \($0)" } ?? "")
        case .checkStateCreated:
            return "created"
        case .checkStateUpdated:
            guard let previous = previousHealth, let health = checkState?.health, previous != health else {
                return "updated (health unchanged)"
            }
            return "\(previous.rawValue) → \(health.rawValue)"
        case .checkStateDeleted:
            return "deleted by " + (deletionReason?.words ?? "an unknown cause")
        case .errorOpened:
            return "\(errorCode?.rawValue ?? "error") opened" + (detail.map { ": \($0)" } ?? "")
        case .errorClosed:
            return "\(errorCode?.rawValue ?? "error") closed" + (detail.map { ": \($0)" } ?? "")
        }
    }
}

extension DeletionReason {
    /// The reason in words: `snapshot diff`, `automatic stop`, …
    public var words: String {
        switch self {
        case .snapshotDiff: "snapshot diff"
        case .automaticStop: "automatic stop"
        case .expiry: "expiry"
        case .subStreamExpired: "sub-stream expiry"
        case .streamDeleted: "stream deletion"
        case .deleteRequest: "delete request"
        }
    }
}
