import Foundation

extension WorkingSet {
    /// The staged check states of one sub-stream, by id: those read, kept as the read returned them, and those the
    /// working set created, changed or read by id.
    ///
    /// A working set stages every check state of a sub-stream for most messages, and most of them are only seen
    /// again: same content, a new time and snapshot. The check states read are therefore kept in the array the read
    /// returned (shared with the store's cache, not copied), found through the positions the read came with, and
    /// such a refresh is recorded beside them (``ReadMark``: a time and a sequence, no strings). Only a check state
    /// whose content or liveness changes, or that is saved or deleted, is copied out (``taken``). Copying each
    /// check state into a dictionary of the working set, and destroying it afterwards, retained and released each of
    /// its texts twice: about an eighth of processing's samples (Docs/performance.md).
    struct StagedCheckStates {
        /// What became of a check state as read.
        private enum ReadMark {
            /// Unchanged.
            case asRead
            /// Seen again with the same content and liveness, at this time in this snapshot, and saved.
            case seen(at: Date, sequence: Int64)
            /// Replaced by ``taken``'s entry for its position, or deleted when there is none.
            case taken
        }

        /// The check states as read (never changed), and each one's position by id.
        private var read: [StoredCheckState] = []
        private var positions: [String: Int] = [:]
        private var marks: [ReadMark] = []
        /// By position in ``read``: the staged check states that replaced those read.
        private var taken: [Int: StagedCheckState] = [:]
        /// The staged check states whose id was not read.
        private var others: [String: StagedCheckState] = [:]
        /// The saved check states, in the order they were first saved: each id with its position in ``read`` (`nil`
        /// for ``others``), so that writing them hashes no id that was read.
        private var savedOrder: [(id: String, position: Int?)] = []
        /// How many check states are staged.
        private(set) var count = 0

        init() {}

        /// Check states as read (their ids unique), with their positions by id when the read had them at hand
        /// (``StreamContext/checkStatePositions``); they are worked out otherwise.
        init(read states: [StoredCheckState], positions known: [String: Int]?) {
            read = states
            if let known, known.count == states.count {
                positions = known
            } else {
                positions.reserveCapacity(states.count)
                for (position, state) in states.enumerated() { positions[state.checkStateId] = position }
            }
            marks = Array(repeating: .asRead, count: states.count)
            count = states.count
        }

        /// Whether a check state is saved (to be written).
        var hasSaved: Bool { !savedOrder.isEmpty }

        /// The staged check state with this id.
        subscript(id: String) -> StagedCheckState? {
            if let position = positions[id] { return staged(at: position) }
            return others[id]
        }

        /// Whether a check state with this id is staged.
        func contains(_ id: String) -> Bool {
            if let position = positions[id] {
                if case .taken = marks[position] { return taken[position] != nil }
                return true
            }
            return others[id] != nil
        }

        private func staged(at position: Int) -> StagedCheckState? {
            switch marks[position] {
            case .asRead:
                return StagedCheckState(state: read[position], saved: false)
            case .seen(let at, let sequence):
                var state = read[position]
                state.lastSeenAt = at
                state.snapshotSequence = sequence
                return StagedCheckState(state: state, saved: true, contentStored: true)
            case .taken:
                return taken[position]
            }
        }

        /// Stages `staged` under `id`; returns the check state it replaced.
        @discardableResult
        mutating func set(_ staged: StagedCheckState, for id: String) -> StagedCheckState? {
            let replaced: StagedCheckState?
            let position = positions[id]
            if let position {
                replaced = self.staged(at: position)
                marks[position] = .taken
                taken[position] = staged
            } else {
                replaced = others.updateValue(staged, forKey: id)
            }
            if replaced == nil { count += 1 }
            if staged.saved && replaced?.saved != true { savedOrder.append((id, position)) }
            return replaced
        }

        /// Unstages the check state with this id; returns it.
        @discardableResult
        mutating func remove(_ id: String) -> StagedCheckState? {
            let removed: StagedCheckState?
            if let position = positions[id] {
                removed = staged(at: position)
                marks[position] = .taken
                taken[position] = nil
            } else {
                removed = others.removeValue(forKey: id)
            }
            if removed != nil { count -= 1 }
            if removed?.saved == true {
                // Rare (a state saved and deleted in one working set): dropped from the writes.
                savedOrder.removeAll { $0.id == id }
            }
            return removed
        }

        /// Stages `checkState` as seen at `now` in snapshot `sequence` where a check state with its id is staged,
        /// editing it in place; `nil` when none is. (``WorkingSet/upsert(_:in:sequence:at:liveness:)``.)
        mutating func refresh(
            _ checkState: CheckState, liveness: CheckStateLiveness?, sequence: Int64, at now: Date
        ) -> Upsert? {
            let id = checkState.checkStateId
            guard let (upsert, newlySaved, position) = edit(checkState, liveness: liveness, sequence: sequence, at: now)
            else { return nil }
            if newlySaved { savedOrder.append((id, position)) }
            return upsert
        }

        /// ``refresh(_:liveness:sequence:at:)`` but for the saved order: also whether the check state was saved
        /// only now, and its position in ``read``.
        private mutating func edit(
            _ checkState: CheckState, liveness: CheckStateLiveness?, sequence: Int64, at now: Date
        ) -> (Upsert, newlySaved: Bool, position: Int?)? {
            let id = checkState.checkStateId
            guard let position = positions[id] else {
                guard let index = others.index(forKey: id) else { return nil }
                let (upsert, newlySaved) = Self.refresh(
                    &others.values[index], with: checkState, liveness: liveness, sequence: sequence, at: now)
                return (upsert, newlySaved, nil)
            }
            let seen: (at: Date, sequence: Int64)
            switch marks[position] {
            case .taken:
                guard let index = taken.index(forKey: position) else { return nil }
                let (upsert, newlySaved) = Self.refresh(
                    &taken.values[index], with: checkState, liveness: liveness, sequence: sequence, at: now)
                return (upsert, newlySaved, position)
            case .asRead: seen = (read[position].lastSeenAt, read[position].snapshotSequence)
            case .seen(let at, let sequence): seen = (at, sequence)
            }
            // Compared where it is stored: the common case, the same content seen again, copies nothing.
            guard read[position].liveness == liveness, read[position].checkState == checkState else {
                guard var staged = staged(at: position) else { return nil }
                let (upsert, newlySaved) = Self.refresh(
                    &staged, with: checkState, liveness: liveness, sequence: sequence, at: now)
                marks[position] = .taken
                taken[position] = staged
                return (upsert, newlySaved, position)
            }
            if seen.at == now && seen.sequence == sequence { return (.unchanged, false, position) }
            let newlySaved: Bool
            if case .asRead = marks[position] { newlySaved = true } else { newlySaved = false }
            marks[position] = .seen(at: now, sequence: sequence)
            return (.refreshed, newlySaved, position)
        }

        /// Marks `staged` seen at `now` in snapshot `sequence` with `checkState`'s content and `liveness`.
        private static func refresh(
            _ staged: inout StagedCheckState,
            with checkState: CheckState,
            liveness: CheckStateLiveness?,
            sequence: Int64,
            at now: Date
        ) -> (Upsert, newlySaved: Bool) {
            let upsert: Upsert
            let livenessChanged = staged.state.liveness != liveness
            if livenessChanged {
                // A new promise, or a report after silence: the liveness is written with the content.
                staged.state.liveness = liveness
                staged.contentStored = false
            }
            if staged.state.checkState != checkState {
                upsert = .updated(previous: staged.state.checkState.health)
                staged.state.checkState = checkState
                staged.contentStored = false
            } else if !livenessChanged && staged.state.lastSeenAt == now && staged.state.snapshotSequence == sequence {
                return (.unchanged, false)
            } else {
                upsert = .refreshed
            }
            staged.state.lastSeenAt = now
            staged.state.snapshotSequence = sequence
            let newlySaved = !staged.saved
            staged.saved = true
            return (upsert, newlySaved)
        }

        /// The check states last seen in another snapshot than `sequence`, in no particular order.
        func states(notSeenIn sequence: Int64) -> [StoredCheckState] {
            var stale: [StoredCheckState] = []
            for position in read.indices {
                switch marks[position] {
                case .asRead where read[position].snapshotSequence != sequence:
                    stale.append(read[position])
                case .seen(_, let seen) where seen != sequence:
                    if let staged = staged(at: position) { stale.append(staged.state) }
                default:
                    break
                }
            }
            for staged in taken.values where staged.state.snapshotSequence != sequence { stale.append(staged.state) }
            for staged in others.values where staged.state.snapshotSequence != sequence { stale.append(staged.state) }
            return stale
        }

        /// Every staged check state, in no particular order.
        var all: [StagedCheckState] {
            var all: [StagedCheckState] = []
            all.reserveCapacity(count)
            for position in read.indices {
                if case .taken = marks[position] { continue }
                if let staged = staged(at: position) { all.append(staged) }
            }
            all.append(contentsOf: taken.values)
            all.append(contentsOf: others.values)
            return all
        }

        /// When every staged check state is saved at one time in one snapshot: that time and sequence, and how many
        /// of them keep the content the store holds. (``WorkingSet/SubStreamSlot/refresh(of:)``.)
        func uniformSave() -> (lastSeenAt: Date, sequence: Int64, contentStored: Int)? {
            var common: (lastSeenAt: Date, sequence: Int64)?
            var contentStored = 0
            func agrees(_ at: Date, _ sequence: Int64) -> Bool {
                guard let common else {
                    common = (at, sequence)
                    return true
                }
                return common.lastSeenAt == at && common.sequence == sequence
            }
            for position in read.indices {
                switch marks[position] {
                case .asRead: return nil
                case .seen(let at, let sequence):
                    guard agrees(at, sequence) else { return nil }
                    contentStored += 1
                case .taken: continue
                }
            }
            for staged in taken.values {
                guard staged.saved, agrees(staged.state.lastSeenAt, staged.state.snapshotSequence) else { return nil }
                if staged.contentStored { contentStored += 1 }
            }
            for staged in others.values {
                guard staged.saved, agrees(staged.state.lastSeenAt, staged.state.snapshotSequence) else { return nil }
                if staged.contentStored { contentStored += 1 }
            }
            guard let common else { return nil }
            return (common.lastSeenAt, common.sequence, contentStored)
        }

        /// Appends the saved check states to `rows`, in the order they were first saved, leaving out those whose
        /// content is what the store holds when `onlyNewContent`: what a change writes. A check state as read and
        /// seen again is left out without a copy and without hashing its id.
        func appendRows(to rows: inout [StoredCheckState], onlyNewContent: Bool) {
            for (id, position) in savedOrder {
                if let position {
                    switch marks[position] {
                    case .asRead: continue
                    case .seen where onlyNewContent: continue
                    case .seen: if let staged = staged(at: position) { rows.append(staged.state) }
                    case .taken:
                        guard let index = taken.index(forKey: position) else { continue }
                        if !onlyNewContent || !taken.values[index].contentStored {
                            rows.append(taken.values[index].state)
                        }
                    }
                } else if let index = others.index(forKey: id) {
                    if !onlyNewContent || !others.values[index].contentStored {
                        rows.append(others.values[index].state)
                    }
                }
            }
        }
    }
}
