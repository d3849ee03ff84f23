import Foundation

/// A ``HealthStore`` in memory: for tests, replays and audits that need no database file.
///
/// Commits are atomic: versions and the receipt are checked before anything is written. It answers
/// ``HealthStoreQueries``, ``HealthStoreRetention``, ``HealthStoreSnapshots`` and ``HealthStoreTransfer``; it does
/// not adopt ``PipelinedHealthStore``, which would gain it nothing (every call is one hop onto the actor), so the processor waits for each of its commits before the next.
public actor InMemoryHealthStore: HealthStoreQueries, HealthStoreRetention, HealthStoreSnapshots {
    // Internal, not private: the transfer extension (`InMemoryHealthStore+Transfer.swift`) reads and loads them.
    var streamRecords: [String: StreamRecord] = [:]
    var subStreamRecords: [StreamKey: SubStreamRecord] = [:]
    var subStreamsByURN: [String: Set<String>] = [:]
    var checkStateRecords: [StreamKey: [String: StoredCheckState]] = [:]
    var errorRecords: [String: [ErrorKey: ErrorRecord]] = [:]
    var eventLog: [HealthEvent] = []
    var nextSequence: Int64 = 1
    var processorClock: Date?
    /// Committed receipts with the clock they were committed with.
    var receipts: [String: Date?] = [:]

    /// Creates an empty store.
    public init() {}

    /// The stream record of `urn`, or `nil`.
    public func stream(_ urn: String) -> StreamRecord? { streamRecords[urn] }

    /// All sub-streams of `urn`, main first.
    public func subStreams(of urn: String) -> [SubStreamRecord] {
        (subStreamsByURN[urn] ?? []).sorted().compactMap { subStreamRecords[StreamKey(urn: urn, subStreamId: $0)] }
    }

    /// The sub-stream record of `key`, or `nil`.
    public func subStream(_ key: StreamKey) -> SubStreamRecord? { subStreamRecords[key] }

    /// The stream of `key` with its open errors, the sub-stream `key` and, when asked for, its check states, in one
    /// call.
    public func streamContext(of key: StreamKey, includingCheckStates: Bool) -> StreamContext {
        let subStream = subStreamRecords[key]
        return StreamContext(
            stream: streamRecords[key.urn],
            errors: errors(of: key.urn),
            subStream: subStream,
            checkStates: includingCheckStates && subStream != nil
                ? (checkStateRecords[key] ?? [:]).values.sorted { $0.checkStateId < $1.checkStateId } : nil
        )
    }

    /// The due timers asked for and the context of each request, in one call onto the actor.
    public func batchContext(of requests: [ContextRequest], due: DueTimers?) -> BatchContext {
        BatchContext(
            due: due.map { dueSubStreams(before: $0.before, limit: $0.limit ?? Int.max) } ?? [],
            contexts: requests.map { streamContext(of: $0.key, includingCheckStates: $0.includingCheckStates) }
        )
    }

    /// Check states of one sub-stream, by id or all.
    public func checkStates(of key: StreamKey, ids: [String]?) -> [StoredCheckState] {
        guard let states = checkStateRecords[key] else { return [] }
        guard let ids else { return Array(states.values) }
        return Set(ids).compactMap { states[$0] }
    }

    /// Check states of any streams, sorted by URN, sub-stream and id.
    public func checkStates(urn: String?, subStreamId: String?) -> [StoredCheckState] {
        var keys: [StreamKey]
        if let urn {
            keys = (subStreamsByURN[urn] ?? []).map { StreamKey(urn: urn, subStreamId: $0) }
            if let subStreamId { keys = keys.filter { $0.subStreamId == subStreamId } }
        } else {
            keys = Array(checkStateRecords.keys)
            if let subStreamId { keys = keys.filter { $0.subStreamId == subStreamId } }
        }
        return keys.sorted().flatMap { key in
            (checkStateRecords[key] ?? [:]).values.sorted { $0.checkStateId < $1.checkStateId }
        }
    }

    /// The open errors of `urn`, sorted by key.
    public func errors(of urn: String) -> [ErrorRecord] {
        (errorRecords[urn] ?? [:]).values.sorted { $0.key < $1.key }
    }

    /// All streams with their counts, sorted by URN.
    public func streams() -> [StreamSummary] {
        streamRecords.values.sorted { $0.urn < $1.urn }.map { stream in
            let subStreamIds = subStreamsByURN[stream.urn] ?? []
            let count = subStreamIds.reduce(0) { total, id in
                total + (checkStateRecords[StreamKey(urn: stream.urn, subStreamId: id)]?.count ?? 0)
            }
            return StreamSummary(
                urn: stream.urn,
                consistencyModel: stream.consistencyModel,
                subStreamCount: subStreamIds.count,
                checkStateCount: count
            )
        }
    }

    /// Sub-streams due strictly before `time`, earliest first. This store scans every sub-stream.
    public func dueSubStreams(before time: Date, limit: Int) -> [StreamKey] {
        let due = subStreamRecords.values.compactMap { record -> (Date, StreamKey)? in
            guard let deadline = record.nextDeadline, deadline < time else { return nil }
            return (deadline, record.key)
        }
        return due.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.prefix(max(0, limit)).map(\.1)
    }

    /// The earliest deadline of any sub-stream.
    public func nextDeadline() -> Date? { subStreamRecords.values.compactMap(\.nextDeadline).min() }

    /// The processor clock as last committed.
    public func clock() -> Date? { processorClock }

    /// Whether a change with this receipt was committed.
    public func hasReceipt(_ receipt: String) -> Bool { receipts[receipt] != nil }

    /// Deletes the receipts with `prefix` committed with a clock before `cutoff`.
    public func pruneReceipts(withPrefix prefix: String, before cutoff: Date) -> Int {
        let old = receipts.filter { receipt, clock in
            guard receipt.hasPrefix(prefix), let clock else { return false }
            return clock < cutoff
        }
        for receipt in old.keys { receipts[receipt] = nil }
        return old.count
    }

    /// Events matching `query`, oldest first.
    public func events(_ query: EventQuery) -> [HealthEvent] {
        var matches = eventLog.filter { event in
            if let urn = query.urn, event.urn != urn { return false }
            if let subStreamId = query.subStreamId, event.subStreamId != subStreamId { return false }
            if let checkStateId = query.checkStateId, event.checkStateId != checkStateId { return false }
            if let since = query.since, event.at < since { return false }
            if let until = query.until, event.at > until { return false }
            return true
        }
        matches.sort { ($0.at, $0.sequence ?? 0) < ($1.at, $1.sequence ?? 0) }
        if let limit = query.limit { return Array(matches.prefix(max(0, limit))) }
        return matches
    }

    /// Deletes the events before `cutoff` but the latest state-defining event of each check state alive at it.
    /// - Returns: How many events were deleted.
    public func pruneEvents(before cutoff: Date) -> Int {
        struct CheckStateKey: Hashable {
            var urn: String
            var subStreamId: String
            var checkStateId: String
        }
        // The log is in commit order; the latest event of a check state is the greatest by (time, sequence).
        var latest: [CheckStateKey: Int] = [:]
        for (index, event) in eventLog.enumerated() where event.at < cutoff {
            guard let id = event.checkStateId else { continue }
            let key = CheckStateKey(urn: event.urn, subStreamId: event.subStreamId, checkStateId: id)
            if let current = latest[key] {
                let other = eventLog[current]
                if (event.at, event.sequence ?? 0) < (other.at, other.sequence ?? 0) { continue }
            }
            latest[key] = index
        }
        let kept = Set(
            latest.values.filter { [.checkStateCreated, .checkStateUpdated].contains(eventLog[$0].kind) }
        )
        let before = eventLog.count
        eventLog = eventLog.enumerated().compactMap { index, event in
            event.at >= cutoff || kept.contains(index) ? event : nil
        }
        return before - eventLog.count
    }

    /// Applies `change` atomically: versions and the receipt are checked before anything is written.
    public func commit(_ change: StoreChange) throws {
        guard !isSnapshot else {
            throw StorageError(code: .readOnly, message: "a snapshot of the store cannot be written")
        }
        try validate(change)
        for deletion in change.deletedStreams { removeStream(deletion.urn) }
        for deletion in change.deletedSubStreams { removeSubStream(deletion.key) }
        for var stream in change.savedStreams {
            stream.version += 1
            streamRecords[stream.urn] = stream
        }
        for var subStream in change.savedSubStreams {
            subStream.version += 1
            subStreamRecords[subStream.key] = subStream
            subStreamsByURN[subStream.key.urn, default: []].insert(subStream.key.subStreamId)
        }
        for (key, id) in change.deletedCheckStates { checkStateRecords[key]?[id] = nil }
        for refresh in change.refreshedCheckStates {
            guard var states = checkStateRecords.removeValue(forKey: refresh.key) else { continue }
            for index in states.indices {
                states.values[index].lastSeenAt = refresh.lastSeenAt
                states.values[index].snapshotSequence = refresh.snapshotSequence
            }
            checkStateRecords[refresh.key] = states
        }
        for state in change.savedCheckStates { checkStateRecords[state.key, default: [:]][state.checkStateId] = state }
        for key in change.deletedErrors { errorRecords[key.urn]?[key] = nil }
        for error in change.savedErrors { errorRecords[error.key.urn, default: [:]][error.key] = error }
        for var event in change.events {
            event.sequence = nextSequence
            nextSequence += 1
            eventLog.append(event)
        }
        if let clock = change.clock { processorClock = max(processorClock ?? clock, clock) }
        for receipt in change.receipts { receipts[receipt] = .some(change.clock) }
    }

    private func validate(_ change: StoreChange) throws {
        if let receipt = change.receipts.first(where: { receipts[$0] != nil }) {
            throw StorageError(code: .duplicateReceipt, message: "receipt \(receipt) was already committed")
        }
        if change.receipts.count > 1, Set(change.receipts).count < change.receipts.count {
            throw StorageError(code: .duplicateReceipt, message: "the change lists a receipt twice")
        }
        var streamVersions = streamRecords.mapValues(\.version)
        var subStreamVersions: [StreamKey: Int64] = [:]
        func subStreamVersion(_ key: StreamKey) -> Int64? {
            if let version = subStreamVersions[key] { return version == 0 ? nil : version }
            return subStreamRecords[key]?.version
        }
        for deletion in change.deletedStreams {
            guard streamVersions[deletion.urn] == deletion.version else {
                throw conflict("stream \(deletion.urn)")
            }
            streamVersions[deletion.urn] = nil
            for id in subStreamsByURN[deletion.urn] ?? [] {
                subStreamVersions[StreamKey(urn: deletion.urn, subStreamId: id)] = 0
            }
        }
        for deletion in change.deletedSubStreams {
            guard subStreamVersion(deletion.key) == deletion.version else {
                throw conflict("sub-stream \(deletion.key)")
            }
            subStreamVersions[deletion.key] = 0
        }
        for stream in change.savedStreams {
            guard (streamVersions[stream.urn] ?? 0) == stream.version else { throw conflict("stream \(stream.urn)") }
        }
        for subStream in change.savedSubStreams {
            guard (subStreamVersion(subStream.key) ?? 0) == subStream.version else {
                throw conflict("sub-stream \(subStream.key)")
            }
        }
    }

    private func conflict(_ what: String) -> StorageError {
        StorageError(code: .conflict, message: "\(what) was changed by another writer")
    }

    private func removeStream(_ urn: String) {
        for id in subStreamsByURN[urn] ?? [] { removeSubStream(StreamKey(urn: urn, subStreamId: id)) }
        streamRecords[urn] = nil
        subStreamsByURN[urn] = nil
        errorRecords[urn] = nil
    }

    private func removeSubStream(_ key: StreamKey) {
        subStreamRecords[key] = nil
        checkStateRecords[key] = nil
        subStreamsByURN[key.urn]?.remove(key.subStreamId)
        if let errors = errorRecords[key.urn] {
            errorRecords[key.urn] = errors.filter { $0.key.streamLevel || $0.key.subStreamId != key.subStreamId }
        }
    }

    // MARK: Snapshots

    /// Whether the store is a snapshot's view, which refuses commits.
    private var isSnapshot = false

    /// Runs `body` with a copy of the store's state, which refuses commits (``HealthStoreSnapshots``).
    public func withSnapshot<T: Sendable>(
        _ body: @escaping @Sendable (any HealthStoreQueries) async throws -> T
    ) async throws -> T {
        let view = InMemoryHealthStore()
        await view.restore(
            streams: streamRecords, subStreams: subStreamRecords, subStreamsByURN: subStreamsByURN,
            checkStates: checkStateRecords, errors: errorRecords, events: eventLog, nextSequence: nextSequence,
            clock: processorClock, receipts: receipts)
        return try await body(view)
    }

    private func restore(
        streams: [String: StreamRecord], subStreams: [StreamKey: SubStreamRecord],
        subStreamsByURN: [String: Set<String>],
        checkStates: [StreamKey: [String: StoredCheckState]], errors: [String: [ErrorKey: ErrorRecord]],
        events: [HealthEvent], nextSequence: Int64, clock: Date?, receipts: [String: Date?]
    ) {
        streamRecords = streams
        subStreamRecords = subStreams
        self.subStreamsByURN = subStreamsByURN
        checkStateRecords = checkStates
        errorRecords = errors
        eventLog = events
        self.nextSequence = nextSequence
        processorClock = clock
        self.receipts = receipts
        isSnapshot = true
    }
}
