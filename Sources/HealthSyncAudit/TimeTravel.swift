import Foundation
import HealthSync

/// Reconstructs the check states of any past time from the event record (SPEC §6 events).
///
/// Every check-state event carries the check state's complete values (created and updated: the new values,
/// deleted: the last ones), so the state at a time `T` is the fold of the check-state events up to `T`, in record
/// order (time, then sequence): the latest event of each check state decides whether it existed at `T` and with
/// which values.
///
/// "Up to `T`" follows the processor's clock (SPEC §7): an envelope stamped exactly `T` is applied before the timers
/// due at `T`, which fire only once the clock moves past `T`. So the events *at* `T` that a timer caused (deletions
/// by an automatic stop, a check-state expiry or a sub-stream expiry) are not part of the state at `T`; everything
/// else at `T` is. With this rule, the state at `T` equals the state of a store that replayed the same payloads
/// until `T` (`Replayer.replay(_:until:)`), for every `T` inside the retained event window (see ``EventRetention``).
///
/// ```swift
/// let events = try await store.events(EventQuery(until: noon))
/// let states = TimeTravel.state(at: noon, from: events)
/// ```
public enum TimeTravel {
    /// A check state as it was at some time.
    public struct Entry: Sendable, Hashable {
        /// The sub-stream it belonged to.
        public var key: StreamKey
        /// Its values.
        public var checkState: CheckState
        /// When the event that gave it these values happened.
        public var since: Date

        /// Creates an entry.
        public init(key: StreamKey, checkState: CheckState, since: Date) {
            self.key = key
            self.checkState = checkState
            self.since = since
        }

        /// The check state id.
        public var checkStateId: String { checkState.checkStateId }
    }

    /// A check state that existed at the start of a ``Diff`` and not at its end.
    public struct Removal: Sendable, Hashable {
        /// The check state as it was at the start.
        public var entry: Entry
        /// When the deletion that removed it happened (its last deletion in the interval).
        public var removedAt: Date
        /// Why it was deleted.
        public var reason: DeletionReason?

        /// Creates a removal.
        public init(entry: Entry, removedAt: Date, reason: DeletionReason?) {
            self.entry = entry
            self.removedAt = removedAt
            self.reason = reason
        }
    }

    /// A check state that existed at both ends of a ``Diff`` with different values.
    public struct Change: Sendable, Hashable {
        /// Its values at the start.
        public var before: Entry
        /// Its values at the end.
        public var after: Entry

        /// Creates a change.
        public init(before: Entry, after: Entry) {
            self.before = before
            self.after = after
        }

        /// The names of the fields that differ: `health`, `name`, `topologyElementIdentifier`, `message`.
        public var changedFields: [String] {
            let old = before.checkState
            let new = after.checkState
            var fields: [String] = []
            if old.health != new.health { fields.append("health") }
            if old.name != new.name { fields.append("name") }
            if old.topologyElementIdentifier != new.topologyElementIdentifier {
                fields.append("topologyElementIdentifier")
            }
            if old.message != new.message { fields.append("message") }
            return fields
        }
    }

    /// What changed between two times.
    public struct Diff: Sendable, Hashable {
        /// The start.
        public var from: Date
        /// The end.
        public var to: Date
        /// Check states that exist at ``to`` and did not at ``from``.
        public var added: [Entry]
        /// Check states that existed at ``from`` and do not at ``to``, with the deletion that removed them.
        public var removed: [Removal]
        /// Check states that exist at both times with different values.
        public var changed: [Change]

        /// Creates a diff.
        public init(from: Date, to: Date, added: [Entry], removed: [Removal], changed: [Change]) {
            self.from = from
            self.to = to
            self.added = added
            self.removed = removed
            self.changed = changed
        }

        /// Whether nothing changed.
        public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
    }

    /// The check states at `time`, sorted by URN, sub-stream (main first), then check-state id.
    /// - Parameters:
    ///   - time: the instant.
    ///   - events: events in record order (time, then sequence), as ``HealthSync/HealthStoreQueries/events(_:)``
    ///     returns them; later events are ignored, so passing more than needed is fine.
    public static func state(at time: Date, from events: some Sequence<HealthEvent>) -> [Entry] {
        var fold = Fold()
        for event in events {
            guard isEffective(event, at: time) else {
                if event.at > time { break }
                continue
            }
            fold.apply(event)
        }
        return fold.sorted()
    }

    /// What changed between `from` and `to` (`from` ≤ `to`): check states added, removed (with the cause) and
    /// changed, each sorted by URN, sub-stream, then check-state id.
    /// - Parameter events: events in record order, at least up to `to`.
    public static func diff(from: Date, to: Date, events: some Sequence<HealthEvent>) -> Diff {
        var start = Fold()
        var end = Fold()
        var lastDeletion: [Fold.Key: HealthEvent] = [:]
        for event in events {
            if isEffective(event, at: from) { start.apply(event) }
            guard isEffective(event, at: to) else {
                if event.at > to { break }
                continue
            }
            end.apply(event)
            if event.kind == .checkStateDeleted, !isEffective(event, at: from), let key = Fold.Key(event) {
                lastDeletion[key] = event
            }
        }
        var added: [Entry] = []
        var removed: [Removal] = []
        var changed: [Change] = []
        for (key, after) in end.entries {
            if let before = start.entries[key] {
                if before.checkState != after.checkState { changed.append(Change(before: before, after: after)) }
            } else {
                added.append(after)
            }
        }
        for (key, before) in start.entries where end.entries[key] == nil {
            let deletion = lastDeletion[key]
            removed.append(
                Removal(entry: before, removedAt: deletion?.at ?? to, reason: deletion?.deletionReason)
            )
        }
        return Diff(
            from: from,
            to: to,
            added: added.sorted(by: Fold.order),
            removed: removed.sorted { Fold.order($0.entry, $1.entry) },
            changed: changed.sorted { Fold.order($0.after, $1.after) }
        )
    }

    /// Whether `event` is part of the state at `time`: it happened before `time`, or at `time` and was not caused by
    /// a timer (timers due at `time` fire only when the clock moves past it).
    public static func isEffective(_ event: HealthEvent, at time: Date) -> Bool {
        event.at < time || (event.at == time && !isTimerEffect(event))
    }

    /// Whether a timer caused `event`: an automatic stop, a sub-stream expiry, the deletions they and check-state
    /// expiry cause, the errors timers raise (`SubStreamLateData`, `SubStreamMissingStop`, `SubStreamExpired`), and
    /// a live check state turned `CRITICAL` by silence (``HealthSync/HealthEvent/isSilence``).
    public static func isTimerEffect(_ event: HealthEvent) -> Bool {
        if event.isSilence { return true }
        switch event.kind {
        case .snapshotAutoStopped, .subStreamExpired:
            return true
        case .checkStateDeleted:
            switch event.deletionReason {
            case .automaticStop, .expiry, .subStreamExpired: return true
            default: return false
            }
        case .errorOpened:
            switch event.errorCode {
            case .subStreamLateData, .subStreamMissingStop, .subStreamExpired: return true
            default: return false
            }
        default:
            return false
        }
    }

    /// The check states built up event by event.
    struct Fold {
        struct Key: Hashable {
            var key: StreamKey
            var checkStateId: String

            init?(_ event: HealthEvent) {
                guard let id = event.checkStateId else { return nil }
                key = StreamKey(urn: event.urn, subStreamId: event.subStreamId)
                checkStateId = id
            }
        }

        var entries: [Key: Entry] = [:]

        mutating func apply(_ event: HealthEvent) {
            guard let key = Key(event), let checkState = event.checkState else { return }
            switch event.kind {
            case .checkStateCreated, .checkStateUpdated:
                entries[key] = Entry(key: key.key, checkState: checkState, since: event.at)
            case .checkStateDeleted:
                entries[key] = nil
            default:
                break
            }
        }

        func sorted() -> [Entry] { entries.values.sorted(by: Self.order) }

        static func order(_ lhs: Entry, _ rhs: Entry) -> Bool {
            (lhs.key, lhs.checkStateId) < (rhs.key, rhs.checkStateId)
        }
    }
}
