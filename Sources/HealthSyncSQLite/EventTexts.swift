internal import GRDB
import HealthSync
import Synchronization

/// The writer's side of the event record's dictionary (schema v3): the keys of the texts in `eventText`, so that
/// a commit writes each event as integers without looking its texts up in SQL.
///
/// An event repeats the same texts (its stream's URN, the check state's id, name, element and message, its kind and
/// health) in event after event; `eventRecord` stores their keys in `eventText`, which holds each text once.
/// A text's key never changes and is never handed out again once committed (the dictionary is append-only), so a key
/// known to be committed stays right whatever other connections commit. A text first written by a transaction is
/// *pending*: the next transaction checks that its rows are there, as written, before it trusts their keys
/// (``beginTransaction(in:)``). Nothing else tells when a transaction really committed: GRDB reports a commit
/// whose write then failed on a full disk as committed (measured in `DiskFaultTests`), and SQLite hands the keys of
/// a transaction it rolled back out again.
///
/// Used on the writer connection only (its queue is serial); the lock makes the class `Sendable`, and is never
/// contended.
final class EventTexts: Sendable {
    private struct State {
        /// Texts whose rows are committed.
        var committed: [String: Int64] = [:]
        /// Texts inserted by the latest transaction that inserted any, not known to be committed yet.
        var pending: [String: Int64] = [:]
    }

    private let state = Mutex(State())

    /// How many committed keys are remembered; past it the memory starts over (about 100 bytes a text).
    let capacity: Int

    init(capacity: Int = 250_000) {
        self.capacity = capacity
    }

    /// Starts a write transaction: the texts the previous transactions left pending join the committed ones when
    /// their rows are in `eventText` as written (that transaction committed), and are forgotten otherwise.
    func beginTransaction(in db: Database) throws {
        try state.withLock { state in
            guard let low = state.pending.values.min(), let high = state.pending.values.max() else { return }
            defer { state.pending.removeAll() }
            let statement = try DirectStatement(db, sql: "SELECT id, text FROM eventText WHERE id BETWEEN ? AND ?")
            statement.bind(1, low)
            statement.bind(2, high)
            var stored: [Int64: String] = [:]
            while try statement.step() {
                stored[try statement.int64(0, column: "eventText.id")] = try statement.text(1, column: "eventText.text")
            }
            guard state.pending.allSatisfy({ stored[$0.value] == $0.key }) else { return }
            if state.committed.count + state.pending.count > capacity { state.committed.removeAll() }
            state.committed.merge(state.pending) { _, new in new }
        }
    }

    /// The texts of `event` that ``insert(_:with:from:in:known:)`` keys, in the column order of `eventRecord` after
    /// the time: kind, urn, sub-stream, check state, name, health, element, message, previous health, deletion
    /// reason, error code.
    private static func texts(of event: HealthEvent) -> [String?] {
        let checkState = event.checkState
        return [
            event.kind.rawValue, event.urn, event.subStreamId, checkState?.checkStateId, checkState?.name,
            checkState?.health.rawValue, checkState?.topologyElementIdentifier, checkState?.message,
            event.previousHealth?.rawValue, event.deletionReason?.rawValue, event.errorCode?.rawValue,
        ]
    }

    /// How many texts of an event are keyed (the length of ``texts(of:)``).
    static let textsPerEvent = 11

    /// The keys of the texts of `events` known to be committed, ``textsPerEvent`` per event in the order of
    /// ``insert(_:with:from:in:known:)``, `nil` where a text is absent or not known committed.
    ///
    /// For a commit queued for the writer: looked up on the caller's thread, so that the writer only looks up and
    /// inserts the texts new since. A committed key stays right for good (the dictionary is append-only); a pending
    /// one is never handed out here.
    func committedKeys(of events: [HealthEvent]) -> [Int64?] {
        var keys: [Int64?] = []
        keys.reserveCapacity(events.count * Self.textsPerEvent)
        for event in events {
            let texts = Self.texts(of: event)
            state.withLock { state in
                for text in texts { keys.append(text.flatMap { state.committed[$0] }) }
            }
        }
        return keys
    }

    /// Binds `event` to `statement` from parameter `first` on, in the column order of `eventRecord` after the time
    /// (kind, urn, sub-stream, check state, name, health, element, message, previous health, deletion reason,
    /// error code as keys, the detail as text), inserting the texts the dictionary lacks, and runs it.
    ///
    /// `known` holds keys ``committedKeys(of:)`` found for the event's texts (``textsPerEvent`` of them, `nil`
    /// where it found none); the rest are looked up here.
    ///
    /// Only inside a write transaction on the writer connection, after ``beginTransaction(in:)``.
    func insert(
        _ event: HealthEvent, with statement: DirectStatement, from first: Int32, in db: Database,
        known: ArraySlice<Int64?>? = nil
    ) throws {
        let texts = Self.texts(of: event)
        try state.withLock { state in
            for (offset, text) in texts.enumerated() {
                let parameter = first + Int32(offset)
                guard let text else {
                    statement.bind(parameter, Int64?.none)
                    continue
                }
                if let known, let key = known[known.startIndex + offset] {
                    statement.bind(parameter, key)
                } else {
                    statement.bind(parameter, try key(of: text, in: db, state: &state))
                }
            }
        }
        statement.bind(first + Int32(Self.textsPerEvent), event.detail)
        try statement.execute()
    }

    /// The key of `text`: remembered, found in `eventText`, or inserted there (pending).
    private func key(of text: String, in db: Database, state: inout State) throws -> Int64 {
        if let key = state.committed[text] ?? state.pending[text] { return key }
        let select = try DirectStatement(db, sql: "SELECT id FROM eventText WHERE text = ?")
        select.bind(1, text)
        if let key = try select.fetchOne({ try $0.int64(0, column: "eventText.id") }) {
            // Not inserted by this transaction (that would be pending): committed.
            state.committed[text] = key
            return key
        }
        let insert = try DirectStatement(db, sql: "INSERT INTO eventText (text) VALUES (?)")
        insert.bind(1, text)
        try insert.execute()
        let key = db.lastInsertedRowID
        state.pending[text] = key
        return key
    }

    /// The texts every store knows from the start, inserted first by the migration so that their keys are small:
    /// the main sub-stream's id, the event kinds, healths, deletion reasons and error codes.
    /// (A text that is two of these, as `expiry` is, is there once.) A case added later is keyed on first use, like
    /// any other text; the keys of a database do not depend on the version that created it.
    static var seeds: [String] {
        let all =
            [""] + HealthEvent.Kind.allCases.map(\.rawValue) + Health.allCases.map(\.rawValue)
            + DeletionReason.allCases.map(\.rawValue) + StreamErrorCode.allCases.map(\.rawValue)
        var seen: Set<String> = []
        return all.filter { seen.insert($0).inserted }
    }
}
