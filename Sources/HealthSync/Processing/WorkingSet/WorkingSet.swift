import Foundation

/// The records one envelope, sweep or operation reads and changes, staged in memory until they are committed as
/// one ``StoreChange``.
///
/// A working set does no I/O. The processor's shell reads records from the store and stages them (the `stage`
/// methods); the rules read and change the staged copies synchronously. A rule that asks for a record that is not
/// staged gets a ``MissingRead`` naming the read to make, and the shell makes it and runs the rules again on a new
/// working set (``HealthProcessor/withReads(_:)``): the shell plans its reads so that this stays the rare case.
///
/// Owned by one task at a time; never shared.
final class WorkingSet {
    private struct StreamSlot {
        var original: StreamRecord?
        var record: StreamRecord?
        var dirty = false
    }

    /// A staged sub-stream with its staged check states. A class, so that the hot paths (a lookup and a save per
    /// check state) edit it in place instead of copying its collections in and out of the dictionary.
    final class SubStreamSlot {
        var original: SubStreamRecord?
        var record: SubStreamRecord? {
            didSet { nextDeadline = record?.nextDeadline }
        }
        /// The record's next deadline, kept beside it: ``stagedDeadlines(before:)`` reads it for every staged
        /// sub-stream before every envelope of a batch, without copying the record.
        private(set) var nextDeadline: Date?
        var dirty = false
        /// The staged check states by id; `saved` marks those to write, in the order they were first saved.
        var checkStates = StagedCheckStates()
        var missingIds: Set<String> = []
        var allLoaded = false
        var deletedIds: Set<String> = []
        var errorsRaised = 0

        init(original: SubStreamRecord? = nil, record: SubStreamRecord? = nil, allLoaded: Bool = false) {
            self.original = original
            self.record = record
            nextDeadline = record?.nextDeadline
            self.allLoaded = allLoaded
        }
    }

    struct StagedCheckState {
        var state: StoredCheckState
        var saved: Bool
        /// Whether the content (all but *last seen* and the snapshot sequence) is what the store holds: `true` for
        /// a check state as read, until a save or an upsert changes it.
        var contentStored: Bool

        init(state: StoredCheckState, saved: Bool) {
            self.state = state
            self.saved = saved
            contentStored = !saved
        }

        init(state: StoredCheckState, saved: Bool, contentStored: Bool) {
            self.state = state
            self.saved = saved
            self.contentStored = contentStored
        }
    }

    private var streams: [String: StreamSlot] = [:]
    private var subStreams: [StreamKey: SubStreamSlot] = [:]
    private var originalErrors: [String: [ErrorKey: ErrorRecord]] = [:]
    private var errors: [String: [ErrorKey: ErrorRecord]] = [:]
    private var streamOrder: [String] = []
    private var subStreamOrder: [StreamKey] = []
    private var deletedStreams: [StoreChange.StreamDeletion] = []
    private var deletedSubStreams: [StoreChange.SubStreamDeletion] = []
    private(set) var events: [HealthEvent] = []
    private(set) var counts = ChangeCounts()

    /// Whether ``makeChange(clock:receipt:)`` sends sub-streams' refreshes
    /// (``PipelinedHealthStore/prefersCheckStateRefreshes``).
    let sendsRefreshes: Bool

    init(sendsRefreshes: Bool) {
        self.sendsRefreshes = sendsRefreshes
    }

    // MARK: Staging what was read

    /// Whether the stream is staged (read, or created here).
    func hasStream(_ urn: String) -> Bool { streams[urn] != nil }

    /// Whether the sub-stream is staged (read, or created here).
    func hasSubStream(_ key: StreamKey) -> Bool { subStreams[key] != nil }

    /// The staged stream record, or `nil` when there is none or it is not staged.
    func stagedStream(_ urn: String) -> StreamRecord? { streams[urn]?.record }

    /// The staged sub-stream record, or `nil` when there is none or it is not staged.
    func stagedSubStream(_ key: StreamKey) -> SubStreamRecord? { subStreams[key]?.record }

    /// Stages a stream record as read, with its open errors, unless the stream is staged already.
    func stage(stream record: StreamRecord?, urn: String, errors loaded: [ErrorRecord]) {
        guard streams[urn] == nil else { return }
        var byKey: [ErrorKey: ErrorRecord] = [:]
        for error in loaded { byKey[error.key] = error }
        originalErrors[urn] = byKey
        errors[urn] = byKey
        streams[urn] = StreamSlot(original: record, record: record)
        streamOrder.append(urn)
    }

    /// Stages what is not staged yet of contexts read together (``HealthStore/batchContext(of:due:)``),
    /// one per key: a batch's envelopes then read nothing more of them.
    func stage(_ contexts: [StreamContext], of keys: [StreamKey]) {
        for (key, context) in zip(keys, contexts) { stage(context, of: key) }
    }

    /// Stages what is not staged yet of a context read for `key`: the stream with its errors, and the sub-stream
    /// with its check states when they were read.
    func stage(_ context: StreamContext, of key: StreamKey) {
        stage(stream: context.stream, urn: key.urn, errors: context.errors)
        guard subStreams[key] == nil else { return }
        let record = context.subStream
        let slot = SubStreamSlot(original: record, record: record, allLoaded: record == nil)
        if record != nil, let states = context.checkStates {
            // Kept as read, not copied (``StagedCheckStates``).
            slot.checkStates = StagedCheckStates(read: states, positions: context.checkStatePositions)
            slot.allLoaded = true
        }
        subStreams[key] = slot
        subStreamOrder.append(key)
    }

    /// Stages a sub-stream record as read, unless the sub-stream is staged already.
    func stage(subStream record: SubStreamRecord?, key: StreamKey) {
        guard subStreams[key] == nil else { return }
        subStreams[key] = SubStreamSlot(original: record, record: record, allLoaded: record == nil)
        subStreamOrder.append(key)
    }

    /// Of these ids, those whose check state is neither staged nor known to be missing: what a read by id would
    /// fetch. Empty when the sub-stream is not staged or all its check states are.
    func unstagedCheckStateIds(_ ids: [String], of key: StreamKey) -> [String] {
        guard let slot = subStreams[key], !slot.allLoaded else { return [] }
        return ids.filter { !slot.checkStates.contains($0) && !slot.missingIds.contains($0) }
    }

    /// How many check states the sub-stream stores by its counters (creates minus deletes) as read, or `nil` when
    /// it is not stored.
    func storedCheckStateCount(of key: StreamKey) -> Int64? {
        guard let original = subStreams[key]?.original else { return nil }
        return original.metrics.creates - original.metrics.deletes
    }

    /// Stages check states read by id (`requested`): those found, unless staged already, and the others as missing.
    func stage(checkStates found: [StoredCheckState], requested: [String], of key: StreamKey) {
        guard let slot = subStreams[key], !slot.allLoaded else { return }
        var foundIds = Set<String>(minimumCapacity: found.count)
        for state in found where !slot.checkStates.contains(state.checkStateId) {
            slot.checkStates.set(StagedCheckState(state: state, saved: false), for: state.checkStateId)
            foundIds.insert(state.checkStateId)
        }
        for id in requested where !foundIds.contains(id) { slot.missingIds.insert(id) }
    }

    /// Stages every stored check state of the sub-stream (as read) that is not staged or staged as deleted; from
    /// then on none is read again.
    func stage(allCheckStates stored: [StoredCheckState], of key: StreamKey) {
        guard let slot = subStreams[key], !slot.allLoaded else { return }
        for state in stored where !slot.checkStates.contains(state.checkStateId) {
            if !slot.deletedIds.contains(state.checkStateId) {
                slot.checkStates.set(StagedCheckState(state: state, saved: false), for: state.checkStateId)
            }
        }
        slot.allLoaded = true
        slot.missingIds = []
    }

    // MARK: Streams

    /// The staged stream record.
    /// - Throws: ``MissingRead`` when the stream is not staged.
    func stream(_ urn: String) throws(MissingRead) -> StreamRecord? {
        guard let slot = streams[urn] else { throw MissingRead(.stream(urn: urn)) }
        return slot.record
    }

    /// Replaces the staged stream record.
    func put(_ record: StreamRecord) {
        streams[record.urn, default: StreamSlot()].record = record
        streams[record.urn]?.dirty = true
    }

    /// Deletes a stream with everything it holds. The caller records the events.
    func deleteStream(_ urn: String) {
        guard let original = streams[urn]?.original else {
            streams[urn]?.record = nil
            return
        }
        deletedStreams.append(StoreChange.StreamDeletion(urn: urn, version: original.version))
        streams[urn] = StreamSlot(original: nil, record: nil)
        for key in subStreams.keys where key.urn == urn { subStreams[key] = SubStreamSlot(allLoaded: true) }
        originalErrors[urn] = [:]
        errors[urn] = [:]
    }

    // MARK: Sub-streams

    /// The staged sub-stream record.
    /// - Throws: ``MissingRead`` when the sub-stream is not staged.
    func subStream(_ key: StreamKey) throws(MissingRead) -> SubStreamRecord? {
        guard let slot = subStreams[key] else {
            throw MissingRead(streams[key.urn] == nil ? .context(ContextRequest(key: key)) : .subStream(key))
        }
        return slot.record
    }

    /// Replaces the staged sub-stream record.
    func put(_ record: SubStreamRecord) {
        if subStreams[record.key] == nil {
            subStreams[record.key] = SubStreamSlot(allLoaded: true)
            subStreamOrder.append(record.key)
        }
        guard let slot = subStreams[record.key] else { return }
        slot.record = record
        slot.dirty = true
    }

    /// Deletes a sub-stream, its check states and its sub-stream errors. The caller records the check-state events.
    ///
    /// A stored sub-stream is deleted as a whole (its check states and errors cascade), so that a later message of
    /// the same working set (of a batch) recreates it from nothing, as it would after a separate commit.
    func deleteSubStream(_ key: StreamKey) {
        guard let slot = subStreams[key] else { return }
        if let original = slot.original {
            deletedSubStreams.append(StoreChange.SubStreamDeletion(key: key, version: original.version))
            slot.original = nil
        }
        slot.record = nil
        slot.dirty = true
        slot.checkStates = StagedCheckStates()
        slot.deletedIds = []
        slot.allLoaded = true
        errors[key.urn] = errors[key.urn]?.filter { $0.key.streamLevel || $0.key.subStreamId != key.subStreamId }
    }

    /// How many `ERROR`-level errors were raised on the sub-stream in this working set so far.
    func errorsRaised(on key: StreamKey) -> Int { subStreams[key]?.errorsRaised ?? 0 }

    /// The staged sub-streams (those staged as deleted left out) whose earliest deadline is strictly before `time`,
    /// with that deadline, in no particular order.
    ///
    /// A batch asks before each of its envelopes, so this walks the slots without hashing a key each (it was 3 % of
    /// a replay's samples in one profile when it hashed them).
    func stagedDeadlines(before time: Date) -> [(deadline: Date, key: StreamKey)] {
        var due: [(deadline: Date, key: StreamKey)] = []
        for index in subStreams.indices {
            guard let deadline = subStreams.values[index].nextDeadline, deadline < time else { continue }
            due.append((deadline, subStreams.keys[index]))
        }
        return due
    }

    // MARK: Check states

    /// The staged check state with this id, or `nil` when the sub-stream does not store it.
    /// - Throws: ``MissingRead`` when it is not known whether the sub-stream stores it.
    func checkState(_ id: String, of key: StreamKey) throws(MissingRead) -> StoredCheckState? {
        guard let slot = subStreams[key] else { return nil }
        if let staged = slot.checkStates[id] { return staged.state }
        if slot.allLoaded || slot.missingIds.contains(id) { return nil }
        throw MissingRead(.checkStates(key, ids: [id]))
    }

    /// Every check state of the sub-stream, sorted by id.
    /// - Throws: ``MissingRead`` when not all of them are staged.
    func allCheckStates(of key: StreamKey) throws(MissingRead) -> [StoredCheckState] {
        guard let slot = subStreams[key] else { return [] }
        guard slot.allLoaded else { throw MissingRead(.allCheckStates(key)) }
        return slot.checkStates.all.map(\.state).sorted { $0.checkStateId < $1.checkStateId }
    }

    /// The check states of the sub-stream last seen in another snapshot than `sequence` (those a snapshot diff
    /// deletes), sorted by id.
    /// - Throws: ``MissingRead`` when not all of the sub-stream's check states are staged.
    func checkStates(of key: StreamKey, notSeenIn sequence: Int64) throws(MissingRead) -> [StoredCheckState] {
        guard let slot = subStreams[key] else { return [] }
        guard slot.allLoaded else { throw MissingRead(.allCheckStates(key)) }
        return slot.checkStates.states(notSeenIn: sequence).sorted { $0.checkStateId < $1.checkStateId }
    }

    /// What ``upsert(_:in:sequence:at:)`` staged.
    enum Upsert {
        /// A new check state.
        case created
        /// A check state whose content changed; `previous` is the health it had.
        case updated(previous: Health)
        /// An unchanged check state, marked seen at the new time and snapshot.
        case refreshed
        /// An identical repeat already seen at that time in that snapshot: nothing staged.
        case unchanged
    }

    /// Stages `checkState` as seen at `now` in snapshot `sequence`, editing a staged check state in place (the
    /// hottest path of processing: one lookup, no copy of the stored check state).
    /// - Throws: ``MissingRead`` when it is not known whether the sub-stream stores the check state.
    func upsert(
        _ checkState: CheckState,
        in key: StreamKey,
        sequence: Int64,
        at now: Date,
        liveness: CheckStateLiveness? = nil
    ) throws(MissingRead) -> Upsert {
        let id = checkState.checkStateId
        guard let slot = subStreams[key] else { return .unchanged }
        // Edited where it is staged: compared in place, and a check state as read and seen again is not copied.
        if let upsert = slot.checkStates.refresh(checkState, liveness: liveness, sequence: sequence, at: now) {
            return upsert
        }
        if !slot.allLoaded && !slot.missingIds.contains(id) { throw MissingRead(.checkStates(key, ids: [id])) }
        let state = StoredCheckState(
            key: key, checkState: checkState, lastSeenAt: now, snapshotSequence: sequence, liveness: liveness)
        slot.checkStates.set(StagedCheckState(state: state, saved: true), for: id)
        if !slot.missingIds.isEmpty { slot.missingIds.remove(id) }
        if !slot.deletedIds.isEmpty { slot.deletedIds.remove(id) }
        return .created
    }

    /// Whether every stored check state of the sub-stream is staged (no read is left to make).
    func hasAllCheckStates(of key: StreamKey) -> Bool { subStreams[key]?.allLoaded ?? true }

    /// Stages a check state write.
    func save(_ state: StoredCheckState) {
        guard let slot = subStreams[state.key] else { return }
        let id = state.checkStateId
        slot.checkStates.set(StagedCheckState(state: state, saved: true), for: id)
        if !slot.missingIds.isEmpty { slot.missingIds.remove(id) }
        if !slot.deletedIds.isEmpty { slot.deletedIds.remove(id) }
    }

    /// Stages a check state deletion.
    func delete(_ id: String, of key: StreamKey) {
        guard let slot = subStreams[key] else { return }
        slot.checkStates.remove(id)
        slot.deletedIds.insert(id)
        slot.missingIds.insert(id)
    }

    // MARK: Events and counts

    /// Records an event.
    func record(_ event: HealthEvent) {
        events.append(event)
        switch event.kind {
        case .checkStateCreated: counts.created += 1
        case .checkStateUpdated: counts.updated += 1
        case .checkStateDeleted: counts.deleted += 1
        case .errorOpened:
            counts.errorsOpened += 1
            if let code = event.errorCode { counts.errorsOpenedByCode[code, default: 0] += 1 }
        default: break
        }
    }

    /// The counts recorded since the working set was made or since the last call, which starts them again at zero.
    func takeCounts() -> ChangeCounts {
        defer { counts = ChangeCounts() }
        return counts
    }

    // MARK: Errors

    /// The staged open errors of a stream (loaded with the stream).
    func openErrors(of urn: String) -> [ErrorRecord] {
        (errors[urn] ?? [:]).values.sorted { $0.key < $1.key }
    }

    /// Raises an error: opens a record, or aggregates into the open one (count, last seen, latest message).
    /// - Parameters:
    ///   - time: when it was (first) raised.
    ///   - message: what the record says: of the last occurrence.
    ///   - repeats: how many occurrences this raise stands for (a timer that missed several deadlines at once).
    ///   - lastTime: when the last of them happened; `time` when `nil`.
    ///   - openingMessage: what the first occurrence said, when `repeats` stand for several that say different
    ///     things: the `errorOpened` event records it; `message` when `nil`.
    func raise(
        _ code: StreamErrorCode,
        on key: StreamKey,
        streamLevel: Bool,
        message: String,
        at time: Date,
        repeats: Int = 1,
        lastAt lastTime: Date? = nil,
        openingMessage: String? = nil
    ) {
        let errorKey = ErrorKey(urn: key.urn, streamLevel: streamLevel, subStreamId: key.subStreamId, code: code)
        let last = lastTime ?? time
        if var existing = errors[key.urn]?[errorKey] {
            existing.count += Int64(repeats)
            existing.lastSeenAt = max(existing.lastSeenAt, last)
            existing.message = message
            errors[key.urn, default: [:]][errorKey] = existing
        } else {
            let opened = ErrorRecord(
                key: errorKey,
                level: code.level,
                message: message,
                count: Int64(repeats),
                firstSeenAt: time,
                lastSeenAt: last
            )
            errors[key.urn, default: [:]][errorKey] = opened
            record(
                HealthEvent(
                    at: time,
                    kind: .errorOpened,
                    urn: key.urn,
                    subStreamId: key.subStreamId,
                    errorCode: code,
                    detail: openingMessage ?? message
                ))
        }
        markOwnerDirty(of: errorKey)
        if !streamLevel && code.level == .error, let slot = subStreams[key] { slot.errorsRaised += 1 }
    }

    /// Closes the open errors with these codes on one scope; returns how many closed.
    @discardableResult
    func close(
        _ codes: Set<StreamErrorCode>,
        on key: StreamKey,
        streamLevel: Bool,
        at time: Date,
        because cause: String
    ) -> Int {
        var closed = 0
        for code in codes.sorted(by: { $0.rawValue < $1.rawValue }) {
            let errorKey = ErrorKey(urn: key.urn, streamLevel: streamLevel, subStreamId: key.subStreamId, code: code)
            guard errors[key.urn]?[errorKey] != nil else { continue }
            errors[key.urn]?[errorKey] = nil
            closed += 1
            markOwnerDirty(of: errorKey)
            record(
                HealthEvent(
                    at: time,
                    kind: .errorClosed,
                    urn: key.urn,
                    subStreamId: key.subStreamId,
                    errorCode: code,
                    detail: cause
                ))
        }
        return closed
    }

    /// Closes every open error of a stream, stream-level and of all sub-streams.
    func closeAll(of urn: String, at time: Date, because cause: String) -> Int {
        let open = openErrors(of: urn)
        for error in open {
            close(
                [error.code], on: StreamKey(urn: urn, subStreamId: error.key.subStreamId),
                streamLevel: error.key.streamLevel, at: time, because: cause)
        }
        return open.count
    }

    /// Error writes must bump their owner's version so that concurrent writers conflict.
    private func markOwnerDirty(of key: ErrorKey) {
        if key.streamLevel {
            streams[key.urn]?.dirty = true
        } else {
            subStreams[StreamKey(urn: key.urn, subStreamId: key.subStreamId)]?.dirty = true
        }
    }

    // MARK: Commit

    /// The staged changes as one store change.
    func makeChange(clock: Date?, receipt: String?) -> StoreChange {
        var change = StoreChange()
        change.deletedStreams = deletedStreams
        for urn in streamOrder {
            guard let slot = streams[urn], slot.dirty, let record = slot.record else { continue }
            var saved = record
            saved.version = slot.original?.version ?? 0
            change.savedStreams.append(saved)
        }
        let deletedURNs = Set(deletedStreams.map(\.urn))
        change.deletedSubStreams = deletedSubStreams.filter { !deletedURNs.contains($0.key.urn) }
        let deletedSubStreamKeys = Set(deletedSubStreams.map(\.key))
        for key in subStreamOrder {
            guard let slot = subStreams[key] else { continue }
            if let record = slot.record {
                if slot.dirty || slot.checkStates.hasSaved || !slot.deletedIds.isEmpty {
                    var saved = record
                    saved.version = slot.original?.version ?? 0
                    change.savedSubStreams.append(saved)
                }
                for id in slot.deletedIds.sorted() { change.deletedCheckStates.append((key, id)) }
                let refresh = sendsRefreshes ? slot.refresh(of: key) : nil
                if let refresh { change.refreshedCheckStates.append(refresh) }
                // With a refresh, the check states it covers whose content is stored need no row of their own
                // (most of them: left out without a copy).
                slot.checkStates.appendRows(to: &change.savedCheckStates, onlyNewContent: refresh != nil)
            }
        }
        for urn in streamOrder {
            let before = originalErrors[urn] ?? [:]
            let after = errors[urn] ?? [:]
            for (key, _) in before where after[key] == nil {
                let subStreamKey = StreamKey(urn: urn, subStreamId: key.subStreamId)
                let cascaded =
                    deletedURNs.contains(urn) || (!key.streamLevel && deletedSubStreamKeys.contains(subStreamKey))
                if !cascaded { change.deletedErrors.append(key) }
            }
            for (key, record) in after where before[key] != record { change.savedErrors.append(record) }
        }
        change.deletedErrors.sort()
        change.savedErrors.sort { $0.key < $1.key }
        change.events = events
        change.clock = clock
        change.receipt = receipt
        return change
    }
}
