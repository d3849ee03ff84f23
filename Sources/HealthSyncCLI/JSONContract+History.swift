import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncHTTP

/// The documents of `history`, `state --at` and `diff`, in the style of ``JSONContract``: every key present,
/// explicit `null`s, times as epoch seconds, `subStreamId` `null` for main.
extension JSONContract {
    /// `history`: `{"events": [...]}`, oldest first.
    struct HistoryDocument: Encodable, Sendable {
        var events: [EventEntry]

        init(_ events: [HealthEvent]) {
            self.events = events.map(EventEntry.init)
        }
    }

    /// One event with its cause in words.
    struct EventEntry: Encodable, Sendable {
        @ExplicitNull var sequence: Int64?
        var at: Double
        var kind: String
        var urn: String
        @ExplicitNull var subStreamId: String?
        @ExplicitNull var checkStateId: String?
        @ExplicitNull var name: String?
        @ExplicitNull var health: String?
        @ExplicitNull var previousHealth: String?
        @ExplicitNull var deletionReason: String?
        @ExplicitNull var errorCode: String?
        @ExplicitNull var detail: String?
        var cause: String

        init(_ event: HealthEvent) {
            sequence = event.sequence
            at = event.at.timeIntervalSince1970
            kind = event.kind.rawValue
            urn = event.urn
            subStreamId = event.subStreamId.isEmpty ? nil : event.subStreamId
            checkStateId = event.checkStateId
            name = event.checkState?.name
            health = event.checkState?.health.rawValue
            previousHealth = event.previousHealth?.rawValue
            deletionReason = event.deletionReason?.rawValue
            errorCode = event.errorCode?.rawValue
            detail = event.detail
            cause = event.explanation
        }
    }

    /// `diff`: what changed in one stream between two times.
    struct DiffDocument: Encodable, Sendable {
        var urn: String
        @ExplicitNull var subStreamId: String?
        var from: Double
        var to: Double
        var added: [CheckStateEntry]
        var removed: [RemovalEntry]
        var changed: [ChangeEntry]

        init(urn: String, subStreamId: String?, diff: TimeTravel.Diff) {
            self.urn = urn
            self.subStreamId = subStreamId.flatMap { $0.isEmpty ? nil : $0 }
            from = diff.from.timeIntervalSince1970
            to = diff.to.timeIntervalSince1970
            added = diff.added.map(CheckStateEntry.init)
            removed = diff.removed.map(RemovalEntry.init)
            changed = diff.changed.map(ChangeEntry.init)
        }
    }

    /// A check state removed between the two times, with its values at the start and the deletion's cause.
    struct RemovalEntry: Encodable, Sendable {
        var checkState: CheckStateEntry
        var removedAt: Double
        @ExplicitNull var reason: String?

        init(_ removal: TimeTravel.Removal) {
            checkState = CheckStateEntry(removal.entry)
            removedAt = removal.removedAt.timeIntervalSince1970
            reason = removal.reason?.rawValue
        }
    }

    /// A check state with different values at the two times.
    struct ChangeEntry: Encodable, Sendable {
        var before: CheckStateEntry
        var after: CheckStateEntry
        var changedFields: [String]
        var changedAt: Double

        init(_ change: TimeTravel.Change) {
            before = CheckStateEntry(change.before)
            after = CheckStateEntry(change.after)
            changedFields = change.changedFields
            changedAt = change.after.since.timeIntervalSince1970
        }
    }
}

extension JSONContract.StateDocument {
    /// The state document of check states reconstructed by time travel.
    init(_ entries: [TimeTravel.Entry]) {
        checkStates = entries.map(JSONContract.CheckStateEntry.init)
    }
}

extension JSONContract.CheckStateEntry {
    /// The entry of a check state reconstructed by time travel.
    init(_ entry: TimeTravel.Entry) {
        self.init(
            StoredCheckState(key: entry.key, checkState: entry.checkState, lastSeenAt: entry.since, snapshotSequence: 0)
        )
    }
}
