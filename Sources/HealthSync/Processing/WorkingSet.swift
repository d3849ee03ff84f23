import Foundation

/// The records one envelope, sweep or operation reads and changes, staged in memory until they are committed as
/// one ``StoreChange``. Reads go to the staged copy first, then to the store.
///
/// Owned by one task at a time; never shared.
final class WorkingSet {
    private struct StreamSlot {
        var original: StreamRecord?
        var record: StreamRecord?
        var dirty = false
    }

    private struct SubStreamSlot {
        var original: SubStreamRecord?
        var record: SubStreamRecord?
        var dirty = false
        var checkStates: [String: StoredCheckState] = [:]
        var missingIds: Set<String> = []
        var allLoaded = false
        var savedIds: Set<String> = []
        var deletedIds: Set<String> = []
        var errorsRaised = 0
    }

    let store: any HealthStore
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

    init(store: any HealthStore) {
        self.store = store
    }

    // MARK: Streams

    /// The stream record, loading it and its errors on first use.
    func stream(_ urn: String) async throws -> StreamRecord? {
        if let slot = streams[urn] { return slot.record }
        let record = try await store.stream(urn)
        let loaded = try await store.errors(of: urn)
        var byKey: [ErrorKey: ErrorRecord] = [:]
        for error in loaded { byKey[error.key] = error }
        originalErrors[urn] = byKey
        errors[urn] = byKey
        streams[urn] = StreamSlot(original: record, record: record)
        streamOrder.append(urn)
        return record
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

    /// Loads, in one store call (``HealthStore/streamContext(of:)``), what is not staged yet of the stream of `key`
    /// (with its errors) and of the sub-stream `key`. Later ``stream(_:)`` and ``subStream(_:)`` calls are then
    /// answered from the staged copies.
    func load(_ key: StreamKey) async throws {
        let streamLoaded = streams[key.urn] != nil
        guard !streamLoaded || subStreams[key] == nil else { return }
        guard !streamLoaded else {
            _ = try await subStream(key)
            return
        }
        let context = try await store.streamContext(of: key)
        guard streams[key.urn] == nil else { return }
        var byKey: [ErrorKey: ErrorRecord] = [:]
        for error in context.errors { byKey[error.key] = error }
        originalErrors[key.urn] = byKey
        errors[key.urn] = byKey
        streams[key.urn] = StreamSlot(original: context.stream, record: context.stream)
        streamOrder.append(key.urn)
        guard subStreams[key] == nil else { return }
        let record = context.subStream
        subStreams[key] = SubStreamSlot(original: record, record: record, allLoaded: record == nil)
        subStreamOrder.append(key)
    }

    /// Every staged sub-stream record (those staged as deleted left out).
    var stagedSubStreams: [SubStreamRecord] { subStreamOrder.compactMap { subStreams[$0]?.record } }

    /// The sub-stream record, loading it (and its stream, with the errors) on first use.
    func subStream(_ key: StreamKey) async throws -> SubStreamRecord? {
        if let slot = subStreams[key] { return slot.record }
        _ = try await stream(key.urn)
        let record = try await store.subStream(key)
        subStreams[key] = SubStreamSlot(original: record, record: record, allLoaded: record == nil)
        subStreamOrder.append(key)
        return record
    }

    /// Replaces the staged sub-stream record.
    func put(_ record: SubStreamRecord) {
        if subStreams[record.key] == nil {
            subStreams[record.key] = SubStreamSlot(allLoaded: true)
            subStreamOrder.append(record.key)
        }
        subStreams[record.key]?.record = record
        subStreams[record.key]?.dirty = true
    }

    /// Deletes a sub-stream, its check states and its sub-stream errors. The caller records the check-state events.
    ///
    /// A stored sub-stream is deleted as a whole (its check states and errors cascade), so that a later message of
    /// the same working set (of a batch) recreates it from nothing, as it would after a separate commit.
    func deleteSubStream(_ key: StreamKey) {
        guard var slot = subStreams[key] else { return }
        if let original = slot.original {
            deletedSubStreams.append(StoreChange.SubStreamDeletion(key: key, version: original.version))
            slot.original = nil
        }
        slot.record = nil
        slot.dirty = true
        slot.checkStates = [:]
        slot.savedIds = []
        slot.deletedIds = []
        slot.allLoaded = true
        subStreams[key] = slot
        errors[key.urn] = errors[key.urn]?.filter { $0.key.streamLevel || $0.key.subStreamId != key.subStreamId }
    }

    /// How many `ERROR`-level errors were raised on the sub-stream in this working set so far.
    func errorsRaised(on key: StreamKey) -> Int { subStreams[key]?.errorsRaised ?? 0 }

    // MARK: Check states

    /// The fewest ids to fetch for which reading the whole sub-stream may be the cheaper way.
    static let wholeReadMinimum = 8

    /// Loads the check states with these ids (those not staged yet) in one read.
    ///
    /// When they are at least half of what the sub-stream stores (by its counters: creates minus deletes), the whole
    /// sub-stream is read instead: one range scan costs less than a lookup per id, and a snapshot diff later in the
    /// same working set needs every check state anyway. Either way the staged result is the same.
    func prefetch(_ ids: [String], of key: StreamKey) async throws {
        guard let index = subStreams.index(forKey: key), !subStreams.values[index].allLoaded else { return }
        let missing = ids.filter {
            subStreams.values[index].checkStates[$0] == nil && !subStreams.values[index].missingIds.contains($0)
        }
        guard !missing.isEmpty else { return }
        if missing.count >= Self.wholeReadMinimum, let original = subStreams.values[index].original,
            Int64(missing.count) * 2 >= original.metrics.creates - original.metrics.deletes
        {
            try await loadAllCheckStates(of: key)
            return
        }
        let found = try await store.checkStates(of: key, ids: missing)
        guard let index = subStreams.index(forKey: key) else { return }
        var foundIds = Set<String>(minimumCapacity: found.count)
        for state in found {
            subStreams.values[index].checkStates[state.checkStateId] = state
            foundIds.insert(state.checkStateId)
        }
        for id in missing where !foundIds.contains(id) { subStreams.values[index].missingIds.insert(id) }
    }

    /// The staged check state with this id (after ``prefetch(_:of:)``), or `nil`.
    func checkState(_ id: String, of key: StreamKey) async throws -> StoredCheckState? {
        guard let index = subStreams.index(forKey: key) else { return nil }
        if let state = subStreams.values[index].checkStates[id] { return state }
        if subStreams.values[index].allLoaded || subStreams.values[index].missingIds.contains(id) { return nil }
        try await prefetch([id], of: key)
        return subStreams[key]?.checkStates[id]
    }

    /// Every check state of the sub-stream, sorted by id.
    func allCheckStates(of key: StreamKey) async throws -> [StoredCheckState] {
        try await loadAllCheckStates(of: key)
        guard let index = subStreams.index(forKey: key) else { return [] }
        return subStreams.values[index].checkStates.values.sorted { $0.checkStateId < $1.checkStateId }
    }

    /// Reads every stored check state of the sub-stream that is not staged (or staged as deleted), once.
    private func loadAllCheckStates(of key: StreamKey) async throws {
        guard let index = subStreams.index(forKey: key), !subStreams.values[index].allLoaded else { return }
        let stored = try await store.checkStates(of: key)
        guard let index = subStreams.index(forKey: key) else { return }
        subStreams.values[index].checkStates.reserveCapacity(stored.count)
        for state in stored where subStreams.values[index].checkStates[state.checkStateId] == nil {
            if !subStreams.values[index].deletedIds.contains(state.checkStateId) {
                subStreams.values[index].checkStates[state.checkStateId] = state
            }
        }
        subStreams.values[index].allLoaded = true
        subStreams.values[index].missingIds = []
    }

    /// Stages a check state write.
    func save(_ state: StoredCheckState) {
        // One hash lookup, then in-place edits of the slot (no copy of its collections).
        guard let index = subStreams.index(forKey: state.key) else { return }
        let id = state.checkStateId
        subStreams.values[index].checkStates[id] = state
        if !subStreams.values[index].missingIds.isEmpty { subStreams.values[index].missingIds.remove(id) }
        if !subStreams.values[index].deletedIds.isEmpty { subStreams.values[index].deletedIds.remove(id) }
        subStreams.values[index].savedIds.insert(id)
    }

    /// Stages a check state deletion.
    func delete(_ id: String, of key: StreamKey) {
        guard let index = subStreams.index(forKey: key) else { return }
        subStreams.values[index].checkStates[id] = nil
        subStreams.values[index].savedIds.remove(id)
        subStreams.values[index].deletedIds.insert(id)
        subStreams.values[index].missingIds.insert(id)
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
    ///   - repeats: how many occurrences this raise stands for (a timer that missed several deadlines at once).
    ///   - lastTime: when the last of them happened; `time` when `nil`.
    func raise(
        _ code: StreamErrorCode,
        on key: StreamKey,
        streamLevel: Bool,
        message: String,
        at time: Date,
        repeats: Int = 1,
        lastAt lastTime: Date? = nil
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
                    detail: message
                ))
        }
        markOwnerDirty(of: errorKey)
        if !streamLevel && code.level == .error { subStreams[key]?.errorsRaised += 1 }
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
                if slot.dirty || !slot.savedIds.isEmpty || !slot.deletedIds.isEmpty {
                    var saved = record
                    saved.version = slot.original?.version ?? 0
                    change.savedSubStreams.append(saved)
                }
                for id in slot.deletedIds.sorted() { change.deletedCheckStates.append((key, id)) }
                for id in slot.savedIds.sorted() {
                    if let state = slot.checkStates[id] { change.savedCheckStates.append(state) }
                }
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
