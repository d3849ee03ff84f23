import Foundation
import HealthSync
import Synchronization

/// The stream contexts an ``SQLiteHealthStore`` committed or read lately, kept in memory so that the processor's
/// next read of a stream it just wrote needs no SQL and no hop to a connection's queue (Docs/storage.md,
/// *The context cache*).
///
/// It holds what the database holds, never more: an entry is filled from a read only when no commit was applied
/// to the cache while that read ran, and every commit of the store is applied to the cached entries after its
/// transaction committed (applying a change is idempotent, so a read that already saw it is not harmed). Commits of
/// other connections or processes are noticed by `PRAGMA data_version` on the writer connection: they empty the
/// cache, and a commit staged from cached contexts meanwhile fails with a conflict, so the processor reads again.
///
/// Dates are kept as the database returns them (through their stored seconds since 1970), so a cached context
/// equals the one read from the file. The size is bounded by ``capacity`` (check states plus records): a full cache
/// admits nothing new, so of a working set larger than itself it keeps answering the part it holds (an LRU, or any
/// policy that drops entries to admit others, keeps little of a cyclic one); when most lookups miss while it is full,
/// it starts over (see `noteWindow`).
final class ContextCache: Sendable {
    /// A stream's record and open errors, as ``StreamContext`` has them.
    struct StreamEntry {
        var record: StreamRecord?
        var errors: [ErrorKey: ErrorRecord]
    }

    /// A sub-stream's record and, when they were read or the sub-stream is new, its check states.
    struct SubStreamEntry {
        var record: SubStreamRecord?
        var checkStates: CheckStateTable?
    }

    struct State {
        var streams: [String: StreamEntry] = [:]
        var subStreams: [StreamKey: SubStreamEntry] = [:]
        /// Check states and records held, for the capacity.
        var size = 0
        /// Moves with every commit applied and every invalidation, so that a read that ran across one is not
        /// cached.
        var generation: UInt64 = 0
        /// No stored sub-stream has a deadline before this (`distantFuture` when none has one); `nil` when unknown.
        var deadlineFloor: Date?
        /// The writer connection's `PRAGMA data_version` at the last check.
        var dataVersion: Int64?
        /// Whether a read was answered from the cache since it was last emptied.
        var served = false
        /// Stream contexts looked up, and found, since the window began; its length in lookups, doubled after a
        /// start-over that did not help.
        var windowLookups = 0
        var windowHits = 0
        var window = 0
        var startedOver = false
        /// Changes committed but not yet applied to the entries, oldest first.
        var pending: [StoreChange] = []
        /// Stream contexts answered from the cache, and those read from the database, since the store was opened.
        var hits = 0
        var misses = 0
    }

    /// The most check states and records held.
    let capacity: Int
    /// Lookups after which a full cache that answered fewer than half of them starts over.
    let baseWindow: Int
    private let state = Mutex(State())
    /// The changes written by the writer connection's current transaction (``follow(_:)``), applied when it commits.
    let followed = Mutex<[StoreChange]>([])

    /// - Parameters:
    ///   - capacity: the most check states and records held.
    ///   - window: the lookups after which a full cache that answered fewer than half of them starts over.
    init(capacity: Int, window: Int = 4_096) {
        self.capacity = capacity
        baseWindow = window
        state.withLock { $0.window = window }
    }

    /// What the cache holds of a batch read.
    struct Lookup {
        /// The context of each request the cache holds, `nil` for the others, in the order of the requests.
        var contexts: [StreamContext?]
        /// Whether the cache rules out sub-streams due before the time asked for (always, for a limit of 0).
        var noneDue: Bool

        /// The whole batch context, when the cache answered all of it.
        var complete: BatchContext? {
            guard noneDue else { return nil }
            var found: [StreamContext] = []
            found.reserveCapacity(contexts.count)
            for context in contexts {
                guard let context else { return nil }
                found.append(context)
            }
            return BatchContext(due: [], contexts: found)
        }

        /// The requests the cache does not hold, in order.
        func missing(
            of requests: [ContextRequest]
        ) -> [ContextRequest] {
            zip(requests, contexts).compactMap { $1 == nil ? $0 : nil }
        }

        /// The batch context of every request: the cached contexts, and those `read` for the missing requests (in
        /// order) with its due sub-streams.
        func merged(with read: BatchContext) -> BatchContext {
            var reads = read.contexts.makeIterator()
            return BatchContext(due: read.due, contexts: contexts.compactMap { $0 ?? reads.next() })
        }
    }

    /// The contexts of a batch's requests that the cache holds, and whether it rules out due sub-streams.
    func lookup(
        of requests: [ContextRequest],
        dueBefore time: Date,
        limit: Int
    ) -> Lookup {
        state.withLock { state in
            Self.applyPending(&state, capacity: capacity)
            let contexts = requests.map { Self.context(of: $0.key, $0.includingCheckStates, in: &state) }
            let found = contexts.count { $0 != nil }
            state.hits += found
            state.misses += contexts.count - found
            if found > 0 { state.served = true }
            Self.noteWindow(&state, lookups: contexts.count, hits: found, capacity: capacity, base: baseWindow)
            let noneDue = limit <= 0 || state.deadlineFloor.map { $0 >= time } ?? false
            return Lookup(contexts: contexts, noneDue: noneDue)
        }
    }

    /// The context of `key` when the cache holds it (putting its check states in order first, in place).
    private static func context(
        of key: StreamKey, _ includingCheckStates: Bool, in state: inout State
    ) -> StreamContext? {
        guard let stream = state.streams[key.urn], let index = state.subStreams.index(forKey: key) else { return nil }
        let record = state.subStreams.values[index].record
        var checkStates: (states: [StoredCheckState], positions: [String: Int])?
        if includingCheckStates, record != nil {
            guard state.subStreams.values[index].checkStates != nil else { return nil }
            checkStates = state.subStreams.values[index].checkStates?.statesWithPositions()
        }
        var context = StreamContext(
            stream: stream.record,
            errors: stream.errors.values.map(\.self).sorted { Self.storedOrder($0.key, $1.key) },
            subStream: record,
            checkStates: checkStates?.states
        )
        context.checkStatePositions = checkStates?.positions
        return context
    }

    /// The order of the store's error query: sub-stream, stream level first, then code, texts by their bytes.
    private static func storedOrder(_ lhs: ErrorKey, _ rhs: ErrorKey) -> Bool {
        if lhs.subStreamId != rhs.subStreamId { return precedesInBytes(lhs.subStreamId, rhs.subStreamId) }
        if lhs.streamLevel != rhs.streamLevel { return lhs.streamLevel }
        return precedesInBytes(lhs.code.rawValue, rhs.code.rawValue)
    }

    /// SQLite's `BINARY` order of texts: their UTF-8 bytes compared as `memcmp` does, then the shorter first.
    static func precedesInBytes(_ lhs: String, _ rhs: String) -> Bool {
        let compared = lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right in
                var order: Int32 = 0
                if let leftBytes = left.baseAddress, let rightBytes = right.baseAddress {
                    order = memcmp(leftBytes, rightBytes, min(left.count, right.count))
                }
                return order != 0 ? order < 0 : left.count < right.count
            }
        }
        if let compared = compared ?? nil { return compared }
        return lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// The token to pass to ``fill(_:with:of:nextDeadline:)`` after a read that starts now.
    func token() -> UInt64 {
        state.withLock { $0.generation }
    }

    /// Caches what a read returned, unless a commit was applied (or the cache emptied) since `token` was taken.
    /// - Parameter nextDeadline: the earliest deadline the read found, when it looked (`.some(nil)`: none is set).
    func fill(
        _ token: UInt64,
        with contexts: [StreamContext],
        of requests: [ContextRequest],
        nextDeadline: Date??
    ) {
        state.withLock { state in
            guard state.generation == token else { return }
            Self.applyPending(&state, capacity: capacity)
            for (request, context) in zip(requests, contexts) {
                // A full cache admits nothing new: of a working set larger than the cache, it keeps answering the
                // part it holds, instead of dropping entries to make room for others that will be dropped in turn.
                guard state.size < capacity else { break }
                // Nor a context that would not fit in it: a sub-stream larger than the cache is read from the file
                // each time, and does not push out what the cache holds.
                let cost = 2 + context.errors.count + (context.checkStates?.count ?? 0)
                guard state.size + cost <= capacity else { continue }
                if state.streams[request.key.urn] == nil {
                    let errors = Dictionary(context.errors.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
                    state.streams[request.key.urn] = StreamEntry(record: context.stream, errors: errors)
                    state.size += 1 + errors.count
                }
                let cached = state.subStreams[request.key]
                if cached == nil || (cached?.checkStates == nil && context.checkStates != nil) {
                    let checkStates = context.checkStates.map(CheckStateTable.init)
                    state.size += 1 + (checkStates?.count ?? 0) - (cached == nil ? 0 : 1)
                    state.subStreams[request.key] = SubStreamEntry(
                        record: context.subStream,
                        // A sub-stream that is not stored has no check states.
                        checkStates: context.subStream == nil ? CheckStateTable() : checkStates
                    )
                }
            }
            if let nextDeadline { state.deadlineFloor = nextDeadline ?? .distantFuture }
            Self.trim(&state, to: capacity)
        }
    }

    /// Notes a committed change (after its transaction committed, on the writer's queue). It is applied to the
    /// cached entries by the next read or fill, off the writer's queue, which is every commit's critical path.
    func apply(_ change: StoreChange) {
        state.withLock { state in
            state.generation &+= 1
            if change.savedCheckStates.count + change.deletedCheckStates.count > capacity / 4 {
                // A large change is applied now, by the commit that made it: queued, it would make the next read
                // (often another stream's) apply it and free its check states, a wait that grows with its size.
                Self.applyPending(&state, capacity: capacity)
                Self.apply(change, to: &state, capacity: capacity)
                Self.trim(&state, to: capacity)
                return
            }
            state.pending.append(change)
            // A store that is written and not read keeps no more than a few changes.
            if state.pending.count >= 32 { Self.applyPending(&state, capacity: capacity) }
        }
    }

    /// Applies the changes committed since the last read to the cached entries, in commit order.
    private static func applyPending(_ state: inout State, capacity: Int) {
        guard !state.pending.isEmpty else { return }
        let changes = state.pending
        state.pending.removeAll(keepingCapacity: true)
        for change in changes { apply(change, to: &state, capacity: capacity) }
        trim(&state, to: capacity)
    }

    /// Applies one committed change to the cached entries. Applying a change that an entry already shows (it was
    /// read after the commit) changes nothing.
    private static func apply(_ change: StoreChange, to state: inout State, capacity: Int) {
        if !change.deletedStreams.isEmpty {
            drop(urns: Set(change.deletedStreams.map(\.urn)), in: &state)
        }
        for deletion in change.deletedSubStreams {
            if let entry = state.subStreams.removeValue(forKey: deletion.key) {
                state.size -= 1 + (entry.checkStates?.count ?? 0)
            }
            if let index = state.streams.index(forKey: deletion.key.urn) {
                let before = state.streams.values[index].errors.count
                state.streams.values[index].errors = state.streams.values[index].errors.filter {
                    $0.key.streamLevel || $0.key.subStreamId != deletion.key.subStreamId
                }
                state.size -= before - state.streams.values[index].errors.count
            }
        }
        for var stream in change.savedStreams {
            // An insert is known whole (no errors yet); an update only where the stream is cached.
            let index = state.streams.index(forKey: stream.urn)
            guard index != nil || (stream.version == 0 && state.size < capacity) else { continue }
            stream.version += 1
            if let index {
                state.streams.values[index].record = stream.asStored
            } else {
                state.streams[stream.urn] = StreamEntry(record: stream.asStored, errors: [:])
                state.size += 1
            }
        }
        for var subStream in change.savedSubStreams {
            if let deadline = subStream.nextDeadline, let floor = state.deadlineFloor {
                state.deadlineFloor = min(floor, deadline.asStored)
            }
            let index = state.subStreams.index(forKey: subStream.key)
            guard index != nil || (subStream.version == 0 && state.size < capacity) else { continue }
            subStream.version += 1
            if let index {
                state.subStreams.values[index].record = subStream.asStored
            } else {
                // A new sub-stream has no check states but those this change saves.
                state.subStreams[subStream.key] = SubStreamEntry(
                    record: subStream.asStored, checkStates: CheckStateTable())
                state.size += 1
            }
        }
        // Check states come in runs of one sub-stream: look the entry up once per run, and change it in place.
        var last: (key: StreamKey, index: Dictionary<StreamKey, SubStreamEntry>.Index?)?
        func entry(of key: StreamKey, in state: State) -> Dictionary<StreamKey, SubStreamEntry>.Index? {
            if let last, last.key == key { return last.index }
            let index = state.subStreams.index(forKey: key)
            last = (key, index)
            return index
        }
        for (key, checkStateId) in change.deletedCheckStates {
            guard let index = entry(of: key, in: state) else { continue }
            if state.subStreams.values[index].checkStates?.remove(checkStateId) == true {
                state.size -= 1
            }
        }
        for refresh in change.refreshedCheckStates {
            guard let index = entry(of: refresh.key, in: state) else { continue }
            state.subStreams.values[index].checkStates?.refreshAll(
                lastSeenAt: refresh.lastSeenAt.asStored, snapshotSequence: refresh.snapshotSequence)
        }
        var saved = change.savedCheckStates[...]
        while let first = saved.first {
            // One run of a sub-stream's check states.
            let run = saved.prefix { $0.key == first.key }
            saved = saved[run.endIndex...]
            guard let index = entry(of: first.key, in: state),
                let count = state.subStreams.values[index].checkStates?.count
            else { continue }
            if count == 0 && run.count > capacity {
                // A new sub-stream larger than the whole cache: not kept, and not saved only to be dropped.
                let entry = state.subStreams.remove(at: index)
                state.size -= 1 + (entry.value.checkStates?.count ?? 0)
                last = nil
                continue
            }
            for checkState in run {
                guard state.subStreams.values[index].checkStates?.save(checkState.asStored) == true else { continue }
                state.size += 1
                if state.subStreams.values[index].checkStates?.count ?? 0 > capacity {
                    // A sub-stream larger than the whole cache is not kept: it would push out everything else, and
                    // be trimmed itself. The work stops here, at the cache's size.
                    let entry = state.subStreams.remove(at: index)
                    state.size -= 1 + (entry.value.checkStates?.count ?? 0)
                    last = nil
                    break
                }
            }
        }
        for key in change.deletedErrors {
            if state.streams[key.urn]?.errors.removeValue(forKey: key) != nil { state.size -= 1 }
        }
        for error in change.savedErrors {
            guard let index = state.streams.index(forKey: error.key.urn) else { continue }
            if state.streams.values[index].errors.updateValue(error.asStored, forKey: error.key) == nil {
                state.size += 1
            }
        }
    }

    /// Empties the cache: after a failed commit, raw SQL, or another connection's commit.
    func invalidate() {
        state.withLock { state in
            state = State(
                generation: state.generation &+ 1, dataVersion: state.dataVersion, window: state.window,
                hits: state.hits, misses: state.misses)
        }
    }

    /// Compares the writer connection's `PRAGMA data_version` with the last one seen; when another connection
    /// committed since, empties the cache.
    /// - Returns: `true` when another connection committed after a read was answered from the cache: a change
    ///   staged from that read may rest on what that commit replaced.
    func noteDataVersion(_ version: Int64) -> Bool {
        state.withLock { state in
            defer { state.dataVersion = version }
            guard let last = state.dataVersion, last != version else {
                // The first look: whatever is cached came from this connection's commits and reads since the
                // cache was made, which all ran after the database was opened.
                return false
            }
            let served = state.served
            state = State(
                generation: state.generation &+ 1, dataVersion: version, window: state.window, hits: state.hits,
                misses: state.misses)
            return served
        }
    }

    /// What the cache holds and how often it answered.
    var statistics: SQLiteHealthStore.ContextCacheStatistics {
        state.withLock { state in
            Self.applyPending(&state, capacity: capacity)
            return SQLiteHealthStore.ContextCacheStatistics(
                capacity: capacity, size: state.size, hits: state.hits, misses: state.misses)
        }
    }

    /// Drops the streams `urns` and their sub-streams, in one pass over the sub-streams held.
    private static func drop(urns: Set<String>, in state: inout State) {
        for urn in urns {
            if let entry = state.streams.removeValue(forKey: urn) { state.size -= 1 + entry.errors.count }
        }
        let before = state.subStreams.count
        guard before > 0 else { return }
        var removed = 0
        state.subStreams = state.subStreams.filter { key, entry in
            guard urns.contains(key.urn) else { return true }
            removed += 1 + (entry.checkStates?.count ?? 0)
            return false
        }
        state.size -= removed
    }

    /// Drops arbitrary sub-streams, then the streams left without one, when the entries held grew a tenth past
    /// `capacity` (by check states saved into them), until it holds `capacity`. One pass over the entries.
    private static func trim(_ state: inout State, to capacity: Int) {
        guard state.size > capacity + capacity / 10 else { return }
        var dropped: [StreamKey] = []
        var size = state.size
        for (key, entry) in state.subStreams {
            guard size > capacity else { break }
            dropped.append(key)
            size -= 1 + (entry.checkStates?.count ?? 0)
        }
        for key in dropped { state.subStreams.removeValue(forKey: key) }
        state.size = size
        let kept = Set(state.subStreams.keys.map(\.urn))
        let orphans = state.streams.filter { !kept.contains($0.key) }
        for (urn, entry) in orphans {
            state.streams.removeValue(forKey: urn)
            state.size -= 1 + entry.errors.count
        }
    }

    /// Counts lookups in the current window; at its end, a nearly full cache that answered fewer than half of them
    /// starts over (the streams being sent moved on). When the window before also ended so, the next one is twice
    /// as long: the working set is far larger than the cache, starting over does not help, and is done less and less
    /// often.
    private static func noteWindow(_ state: inout State, lookups: Int, hits: Int, capacity: Int, base: Int) {
        state.windowLookups += lookups
        state.windowHits += hits
        guard state.windowLookups >= state.window else { return }
        let startOver = state.windowHits * 2 < state.windowLookups && state.size >= capacity - capacity / 10
        if startOver {
            let window = state.startedOver ? min(state.window * 2, 1 << 30) : base
            state = State(
                generation: state.generation &+ 1, dataVersion: state.dataVersion, window: window,
                startedOver: true, hits: state.hits, misses: state.misses)
        } else {
            state.window = base
            state.startedOver = false
        }
        state.windowLookups = 0
        state.windowHits = 0
    }
}

extension SQLiteHealthStore {
    /// What the context cache holds and how often it answered the processor's reads
    /// (``SQLiteHealthStore/contextCacheStatistics``).
    public struct ContextCacheStatistics: Sendable, Hashable {
        /// The most check states and records it holds.
        public var capacity: Int
        /// The check states and records it holds.
        public var size: Int
        /// Stream contexts answered from the cache, without SQL.
        public var hits: Int
        /// Stream contexts read from the database (and put in the cache).
        public var misses: Int
    }

    /// What the context cache holds and how often it answered since the store was opened; `nil` when the store
    /// has no cache.
    public var contextCacheStatistics: ContextCacheStatistics? { cache?.statistics }
}

/// A sub-stream's check states as the store reads them, sorted by id (as bytes).
///
/// Every change costs time in what it touches, never in the table's size: a save of a known id replaces its slot, a
/// new id is appended (in place when it sorts after the last one, as ids in ascending order do), a removal leaves
/// a dead slot. The next read puts the table back in order once: the new ids are sorted among themselves and merged
/// with the sorted part, and dead slots are dropped; that costs the table's size, once, however many changes came
/// before it. A table written many times and not read compacts itself when its dead slots outnumber its live ones.
struct CheckStateTable {
    /// The slots: sorted by id up to `sortedCount`, then in the order they were inserted. A slot is live when its id
    /// maps to its position in `positions`; any other slot is dead (removed, or saved again after a removal), and
    /// marked so in `dead`.
    private var slots: [StoredCheckState] = []
    private var positions: [String: Int] = [:]
    private var dead: [Bool] = []
    /// How many of the first slots are in id order.
    private var sortedCount = 0
    /// How many slots are dead.
    private var deadCount = 0

    init() {}

    /// A table of check states as a read returned them.
    init(_ read: [StoredCheckState]) {
        slots = read
        if !zip(read, read.dropFirst()).allSatisfy({ ContextCache.precedesInBytes($0.checkStateId, $1.checkStateId) }) {
            slots.sort { ContextCache.precedesInBytes($0.checkStateId, $1.checkStateId) }
        }
        sortedCount = slots.count
        dead = Array(repeating: false, count: slots.count)
        indexSlots()
    }

    /// How many check states the table holds.
    var count: Int { positions.count }

    /// Whether the slots are the check states in id order, with no dead slot: ``states`` then needs no work.
    var isOrdered: Bool { deadCount == 0 && sortedCount == slots.count }

    /// The check states, sorted by id, and the position of each by id. Puts the table in order first when a change
    /// left it otherwise.
    mutating func statesWithPositions() -> (states: [StoredCheckState], positions: [String: Int]) {
        order()
        return (slots, positions)
    }

    /// Inserts or replaces a check state; returns whether it was inserted.
    mutating func save(_ state: StoredCheckState) -> Bool {
        if let position = positions[state.checkStateId] {
            slots[position] = state
            return false
        }
        let inOrder =
            sortedCount == slots.count
            && (slots.isEmpty || ContextCache.precedesInBytes(id(at: slots.count - 1), state.checkStateId))
        positions[state.checkStateId] = slots.count
        slots.append(state)
        dead.append(false)
        // A new last id keeps the table sorted; a dead slot before it does not matter to the order of the live ones.
        if inOrder { sortedCount = slots.count }
        return true
    }

    /// Marks every check state seen at `lastSeenAt` in snapshot `snapshotSequence`.
    mutating func refreshAll(lastSeenAt: Date, snapshotSequence: Int64) {
        for position in slots.indices {
            slots[position].lastSeenAt = lastSeenAt
            slots[position].snapshotSequence = snapshotSequence
        }
    }

    /// Removes a check state; returns whether it was there.
    mutating func remove(_ checkStateId: String) -> Bool {
        guard let position = positions.removeValue(forKey: checkStateId) else { return false }
        dead[position] = true
        deadCount += 1
        if deadCount > positions.count && deadCount > 64 { order() }
        return true
    }

    /// Drops the dead slots and sorts the slots inserted out of order into the sorted ones: a sort of those slots
    /// and one merge, linear in the table's size otherwise. The order is worked out on positions, the check states
    /// are moved into their places by swaps, and only the ids whose place changed are indexed again
    /// (``reindex(moved:slotCount:)``).
    private mutating func order() {
        guard !isOrdered else { return }
        var sorted: [Int] = []
        sorted.reserveCapacity(sortedCount - min(deadCount, sortedCount))
        var inserted: [Int] = []
        for position in slots.indices where !dead[position] {
            if position < sortedCount {
                sorted.append(position)
            } else {
                inserted.append(position)
            }
        }
        inserted.sort { precedes($0, $1) }
        let order = merge(sorted, inserted)
        // Slot `position` takes the check state of slot `order[position]`, the dead ones go last: one permutation,
        // applied with swaps along its cycles, so that no check state is copied (and none of its texts retained).
        var source = order
        source.reserveCapacity(slots.count)
        for position in slots.indices where dead[position] { source.append(position) }
        var placed = [Bool](repeating: false, count: slots.count)
        // Through the buffer: its swaps move the values (`Array.swapAt` copied them, retaining every text).
        slots.withUnsafeMutableBufferPointer { slots in
            for start in slots.indices where !placed[start] {
                var position = start
                while true {
                    placed[position] = true
                    let from = source[position]
                    if from == start { break }
                    slots.swapAt(position, from)
                    position = from
                }
            }
        }
        let slotCount = slots.count
        slots.removeLast(slots.count - order.count)
        reindex(moved: order, slotCount: slotCount)
        dead.removeAll(keepingCapacity: true)
        dead.append(contentsOf: repeatElement(false, count: slots.count))
        sortedCount = slots.count
        deadCount = 0
    }

    /// Points `positions` at the slots' new places, `order[position]` being the slot a check state moved from (of
    /// `slotCount` before). A few moves are indexed again by id; more (new ids sorted in among the first ones shift
    /// all after them), by one pass over the index's entries, which maps each old position to its new one without
    /// hashing an id.
    private mutating func reindex(moved order: [Int], slotCount: Int) {
        var moves = 0
        for (position, previous) in order.enumerated() where position != previous { moves += 1 }
        guard moves > Self.movesIndexedById else {
            for (position, previous) in order.enumerated() where position != previous {
                positions[id(at: position)] = position
            }
            return
        }
        var newPosition = [Int](repeating: -1, count: slotCount)
        for (position, previous) in order.enumerated() { newPosition[previous] = position }
        var index = positions.values.startIndex
        while index != positions.values.endIndex {
            positions.values[index] = newPosition[positions.values[index]]
            positions.values.formIndex(after: &index)
        }
    }

    /// Up to how many moved check states ``reindex(moved:slotCount:)`` indexes again by id: about what a pass over
    /// the index's entries costs in hashed updates.
    private static let movesIndexedById = 4

    /// Whether the check state in slot `lhs` precedes the one in slot `rhs` by id.
    private func precedes(_ lhs: Int, _ rhs: Int) -> Bool {
        ContextCache.precedesInBytes(id(at: lhs), id(at: rhs))
    }

    /// The id of the check state in slot `position`, read in place through the buffer (no copy of the check state
    /// is ever made to read its id).
    private func id(at position: Int) -> String {
        slots.withUnsafeBufferPointer { $0[position].checkState.checkStateId }
    }

    /// The merge of two runs of positions, each in id order, that share no id.
    private func merge(_ first: [Int], _ second: [Int]) -> [Int] {
        guard let firstLast = first.last, let secondFirst = second.first else { return first.isEmpty ? second : first }
        if precedes(firstLast, secondFirst) { return first + second }
        var merged: [Int] = []
        merged.reserveCapacity(first.count + second.count)
        var left = first.startIndex
        var right = second.startIndex
        while left < first.endIndex, right < second.endIndex {
            if precedes(first[left], second[right]) {
                merged.append(first[left])
                left += 1
            } else {
                merged.append(second[right])
                right += 1
            }
        }
        merged.append(contentsOf: first[left...])
        merged.append(contentsOf: second[right...])
        return merged
    }

    private mutating func indexSlots() {
        positions.removeAll(keepingCapacity: true)
        positions.reserveCapacity(slots.count)
        for position in slots.indices { positions[id(at: position)] = position }
    }
}

// MARK: Values as the database returns them

extension Date {
    /// The date as it reads back from its stored form (``storedValue``).
    var asStored: Date { Date(timeIntervalSince1970: storedValue) }
}

extension StreamRecord {
    var asStored: StreamRecord {
        var record = self
        record.createdAt = createdAt.asStored
        return record
    }
}

extension SubStreamRecord {
    var asStored: SubStreamRecord {
        var record = self
        record.createdAt = createdAt.asStored
        if let startedAt = openSnapshot?.startedAt { record.openSnapshot?.startedAt = startedAt.asStored }
        record.lastCompletedAt = lastCompletedAt?.asStored
        record.lastMessageAt = lastMessageAt.asStored
        record.deadlines.lateData = deadlines.lateData?.asStored
        record.deadlines.missingStop = deadlines.missingStop?.asStored
        record.deadlines.expiry = deadlines.expiry?.asStored
        record.deadlines.checkStateExpiry = deadlines.checkStateExpiry?.asStored
        record.deadlines.silence = deadlines.silence?.asStored
        return record
    }
}

extension StoredCheckState {
    var asStored: StoredCheckState {
        var state = self
        state.lastSeenAt = lastSeenAt.asStored
        if let silencedAt = liveness?.silencedAt { state.liveness?.silencedAt = silencedAt.asStored }
        return state
    }
}

extension ErrorRecord {
    var asStored: ErrorRecord {
        var record = self
        record.firstSeenAt = firstSeenAt.asStored
        record.lastSeenAt = lastSeenAt.asStored
        return record
    }
}
