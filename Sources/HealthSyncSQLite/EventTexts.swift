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
/// Written on the writer connection only (its queue is serial); ``committedKeys(of:)`` reads on a queued commit's
/// caller's thread. The lock makes the class `Sendable`. For a queued commit the writer takes it once, and only when
/// the caller's side left a key unknown (a text new or pending): ``completedKeys(of:known:in:)``; other commits (a
/// plain `commit`, a copy) take it per event, with no caller's side to meet.
final class EventTexts: Sendable {
    private struct State {
        /// The key of every remembered text: those whose rows are committed, and those the latest transaction that
        /// inserted any inserted (`pending`).
        var keys: [String: Int64] = [:]
        /// The texts the latest transaction that inserted any inserted, not known to be committed yet, in the
        /// order they were inserted, so of their keys (SQLite hands a new row the key after the largest).
        var pending: [(key: Int64, text: String)] = []
        /// The smallest key in `pending`, `Int64.max` when it is empty. ``committedKeys(of:)`` hands out no key at
        /// or above it: such a key may be pending.
        var firstPending = Int64.max
    }

    private let state = Mutex(State())

    /// How many keys are remembered; past it the memory starts over (about 100 bytes a text).
    let capacity: Int

    init(capacity: Int = 250_000) {
        self.capacity = capacity
    }

    /// How many keys the memory holds before it is sized for ``capacity`` at once: a store that writes few texts
    /// keeps a small table, and a bulk load (100,000 new texts in a replay's first round) does not rehash every key
    /// at each doubling on the writer's thread (a tenth of its time for those texts).
    static let reservedFrom = 16_384

    /// How many texts' keys are remembered (committed and pending).
    var rememberedCount: Int { state.withLock { $0.keys.count } }

    /// Starts a write transaction: the texts the previous transactions left pending become committed when their
    /// rows are in `eventText` as written (that transaction committed), and are forgotten otherwise.
    ///
    /// The rows are read in key order and compared with `pending` in the same order, byte for byte: no text is
    /// hashed again and no row becomes a `String`.
    func beginTransaction(in db: Database) throws {
        try state.withLock { state in
            guard let low = state.pending.first?.key, let high = state.pending.last?.key else { return }
            defer {
                state.pending.removeAll(keepingCapacity: true)
                state.firstPending = .max
            }
            let statement = try DirectStatement(
                db, sql: "SELECT id, text FROM eventText WHERE id BETWEEN ? AND ? ORDER BY id")
            statement.bind(1, low)
            statement.bind(2, high)
            // Every pending text must be a row with its key, as written. Keys are unique and `pending` is in key
            // order, so one pass over both counts the pending texts that are there as written.
            var matched = 0
            var next = 0
            while try statement.step() {
                let key = try statement.int64(0, column: "eventText.id")
                while next < state.pending.count, state.pending[next].key < key { next += 1 }
                guard next < state.pending.count else {
                    statement.reset()
                    break
                }
                if state.pending[next].key == key, statement.text(1, equals: state.pending[next].text) {
                    matched += 1
                    next += 1
                }
            }
            guard matched == state.pending.count else {
                // That transaction rolled back: its keys may be handed out again, to other texts.
                for (key, text) in state.pending where state.keys[text] == key { state.keys[text] = nil }
                return
            }
            if state.keys.count > capacity { state.keys.removeAll(keepingCapacity: true) }
        }
    }

    /// Text `offset` of `event` (``textsPerEvent`` of them, `nil` where the event has none), in the column order of
    /// `eventRecord` after the time: kind, urn, sub-stream, check state, name, health, element, message, previous
    /// health, deletion reason, error code.
    ///
    /// One text at a time, not an array of all eleven: the writer needs only those no key was found for.
    private static func text(_ offset: Int, of event: HealthEvent) -> String? {
        switch offset {
        case 0: event.kind.rawValue
        case 1: event.urn
        case 2: event.subStreamId
        case 3: event.checkState?.checkStateId
        case 4: event.checkState?.name
        case 5: event.checkState?.health.rawValue
        case 6: event.checkState?.topologyElementIdentifier
        case 7: event.checkState?.message
        case 8: event.previousHealth?.rawValue
        case 9: event.deletionReason?.rawValue
        case 10: event.errorCode?.rawValue
        default: nil
        }
    }

    /// How many texts of an event are keyed (the offsets of ``text(_:of:)``).
    static let textsPerEvent = 11

    /// In ``committedKeys(of:)``: the event has no such text (its column is `NULL`).
    static let absent = Int64.min
    /// In ``committedKeys(of:)``: the text is not known committed; the writer looks it up (or inserts it).
    static let unknown = Int64.min + 1

    /// The keys of the texts of `events`, ``textsPerEvent`` per event in the order of ``text(_:of:)``: a committed
    /// key, ``absent`` where the event has no such text, ``unknown`` where the text is not known committed.
    ///
    /// For a commit queued for the writer: looked up on the caller's thread, so that the writer, a pipeline's
    /// longest stage, only binds integers and looks up the texts new since. A committed key stays right for good (the
    /// dictionary is append-only); a pending one is never handed out here.
    func committedKeys(of events: [HealthEvent]) -> [Int64] {
        var keys = [Int64](repeating: Self.absent, count: events.count * Self.textsPerEvent)
        // The texts that repeat from one event to the next (the kind, the stream, the healths, …) are looked up once
        // for each run of them: comparing a text with the one before costs less than hashing it.
        var previous = [(text: String, key: Int64)?](repeating: nil, count: Self.textsPerEvent)
        var start = events.startIndex
        while start < events.endIndex {
            // A chunk of events at a time: the writer takes the lock for each event it inserts meanwhile.
            let end = min(start + 64, events.endIndex)
            state.withLock { state in
                for index in start..<end {
                    for offset in 0..<Self.textsPerEvent {
                        guard let text = Self.text(offset, of: events[index]) else { continue }
                        let repeats = Self.repeatingOffsets & (1 << offset) != 0
                        if repeats, let last = previous[offset], last.text == text {
                            keys[index * Self.textsPerEvent + offset] = last.key
                            continue
                        }
                        let key = state.keys[text].flatMap { $0 < state.firstPending ? $0 : nil } ?? Self.unknown
                        keys[index * Self.textsPerEvent + offset] = key
                        if repeats, key != Self.unknown { previous[offset] = (text, key) }
                    }
                }
            }
            start = end
        }
        return keys
    }

    /// `known` (as ``committedKeys(of:)`` found them for `events`) with every ``unknown`` key looked up, or the
    /// text inserted in `eventText`: the keys of all texts of `events`, under one hold of the lock, in the order
    /// ``insert(_:at:with:from:in:known:)`` would have inserted them one event at a time. The writer's inserts then
    /// bind integers without taking the lock the caller's thread holds while it looks keys up.
    ///
    /// Only inside a write transaction on the writer connection, after ``beginTransaction(in:)``.
    func completedKeys(of events: [HealthEvent], known: [Int64], in db: Database) throws -> [Int64] {
        guard known.contains(Self.unknown) else { return known }
        var keys = known
        try state.withLock { state in
            for index in events.indices {
                for offset in 0..<Self.textsPerEvent where keys[index * Self.textsPerEvent + offset] == Self.unknown {
                    // The one text read out of the event in place (passing the event on copied all of it, on the
                    // writer's thread, for every text it had to key).
                    guard let text = Self.text(offset, of: events[index]) else {
                        keys[index * Self.textsPerEvent + offset] = Self.absent
                        continue
                    }
                    keys[index * Self.textsPerEvent + offset] = try key(of: text, in: db, state: &state)
                }
            }
        }
        return keys
    }

    /// The offsets of ``text(_:of:)`` whose text most often repeats the previous event's: the kind, the URN, the
    /// sub-stream and the healths, deletion reason and error code. (A check state's id, name, element and message
    /// differ from event to event.) A bit per offset.
    private static let repeatingOffsets = [0, 1, 2, 5, 8, 9, 10].reduce(0) { $0 | 1 << $1 }

    /// Binds event `index` of `events` to `statement` from parameter `first` on, in the column order of
    /// `eventRecord` after the time (the texts of ``text(_:of:)`` as keys, the detail as text), inserting the texts
    /// the dictionary lacks, and runs it.
    ///
    /// `known` holds what ``committedKeys(of:)`` found for `events` (``textsPerEvent`` keys an event); the texts it
    /// found no key for, or all of them without it, are looked up here.
    ///
    /// Only inside a write transaction on the writer connection, after ``beginTransaction(in:)``.
    func insert(
        _ events: [HealthEvent], at index: Int, with statement: DirectStatement, from first: Int32, in db: Database,
        known: [Int64]? = nil
    ) throws {
        let base = index * Self.textsPerEvent
        if let known, !known[base..<(base + Self.textsPerEvent)].contains(Self.unknown) {
            // Every key was found (``completedKeys(of:known:in:)``): bound without the lock, which the caller's
            // thread holds for whole chunks of ``committedKeys(of:)`` while the writer commits.
            for offset in 0..<Self.textsPerEvent {
                Self.bind(known[base + offset], to: first + Int32(offset), of: statement)
            }
        } else {
            try state.withLock { state in
                for offset in 0..<Self.textsPerEvent {
                    let key = try resolved(
                        known?[base + offset] ?? Self.unknown, offset, of: events[index], in: db, state: &state)
                    Self.bind(key, to: first + Int32(offset), of: statement)
                }
            }
        }
        statement.bind(first + Int32(Self.textsPerEvent), events[index].detail)
        try statement.execute()
    }

    /// Binds a key of ``committedKeys(of:)``'s kind: `NULL` for ``absent``.
    private static func bind(_ key: Int64, to parameter: Int32, of statement: DirectStatement) {
        statement.bind(parameter, key == absent ? nil : key)
    }

    /// The key `found` for text `offset` of `event`, or, when it is ``unknown``, the text's key looked up or the text
    /// inserted (``absent`` when the event has no such text). With the lock held.
    private func resolved(
        _ found: Int64, _ offset: Int, of event: HealthEvent, in db: Database, state: inout State
    ) throws -> Int64 {
        guard found == Self.unknown else { return found }
        guard let text = Self.text(offset, of: event) else { return Self.absent }
        return try key(of: text, in: db, state: &state)
    }

    /// The key of `text`: remembered, or inserted in `eventText` (pending), or found there.
    ///
    /// A text not remembered is most often new (the memory holds every text written since the store opened, up to
    /// ``capacity``): it is inserted first, and looked up only when it was there already.
    private func key(of text: String, in db: Database, state: inout State) throws -> Int64 {
        if let key = state.keys[text] { return key }
        let insert = try DirectStatement(
            db, sql: "INSERT INTO eventText (text) VALUES (?) ON CONFLICT (text) DO NOTHING")
        insert.bind(1, text)
        try insert.execute()
        if db.changesCount > 0 {
            let key = db.lastInsertedRowID
            if state.keys.count >= Self.reservedFrom, state.keys.capacity < capacity {
                state.keys.reserveCapacity(capacity)
            }
            state.keys[text] = key
            // Keys grow within a transaction; a smaller one (never seen) would only make the check above fail.
            state.pending.append((key, text))
            state.firstPending = min(state.firstPending, key)
            return key
        }
        let select = try DirectStatement(db, sql: "SELECT id FROM eventText WHERE text = ?")
        select.bind(1, text)
        guard let key = try select.fetchOne({ try $0.int64(0, column: "eventText.id") }) else {
            throw SQLiteHealthStore.corrupt("eventText.text", "neither inserted nor found")
        }
        // Not inserted by this transaction (that would be pending): committed.
        state.keys[text] = key
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
