import Foundation
import Logging

// MARK: The shell's reads

extension HealthProcessor {
    /// How many unplanned reads one working set may ask for before processing gives up (a rule that asks again for
    /// what was read would otherwise loop).
    static let unplannedReadLimit = 64

    /// Runs `body` on a new working set, and again on a new one whenever a rule in it throws a ``MissingRead``: the
    /// read is made and staged first, with every read asked for before, and `body` starts over. `body` must commit
    /// nothing before its rules ran (it plans, runs the rules, then commits), so that starting over is safe.
    ///
    /// The planned reads (``prepare(_:in:)``, ``prepareTimers(of:in:before:)``) make this the rare case; it is the
    /// safety net that keeps the outcome right when a plan misses a read.
    func withReads<T>(_ body: (WorkingSet) async throws -> T) async throws -> T {
        var ahead: [ReadRequest] = []
        while true {
            let work = WorkingSet(sendsRefreshes: sendsRefreshes)
            for request in ahead { try await read(request, into: work) }
            do {
                return try await body(work)
            } catch let missing as MissingRead {
                guard !ahead.contains(missing.request), ahead.count < Self.unplannedReadLimit else {
                    throw StorageError(
                        code: .failed,
                        message: "processing asked again for a read that was made (\(missing.request)); "
                            + "nothing was written")
                }
                logger.debug(
                    "a rule asked for an unplanned read; processing again",
                    metadata: [
                        "read": "\(missing.request)"
                    ])
                ahead.append(missing.request)
            }
        }
    }

    /// Reads what `request` names from the store and stages what of it is not staged yet.
    func read(_ request: ReadRequest, into work: WorkingSet) async throws {
        switch request {
        case .stream(let urn):
            guard !work.hasStream(urn) else { return }
            // One read for the record and the errors.
            try storeReadAllowed()
            let context = try await store.streamContext(of: .main(urn), includingCheckStates: false)
            work.stage(stream: context.stream, urn: urn, errors: context.errors)
        case .context(let context):
            let key = context.key
            if work.hasStream(key.urn) {
                guard !work.hasSubStream(key) else { return }
                try storeReadAllowed()
                work.stage(subStream: try await store.subStream(key), key: key)
            } else {
                // The stream with its errors and the sub-stream (with its check states when asked) in one read.
                try storeReadAllowed()
                work.stage(
                    try await store.streamContext(of: key, includingCheckStates: context.includingCheckStates),
                    of: key)
            }
        case .subStream(let key):
            try await read(.context(ContextRequest(key: key)), into: work)
        case .checkStates(let key, let ids):
            if !work.hasSubStream(key) { try await read(.context(ContextRequest(key: key)), into: work) }
            let missing = work.unstagedCheckStateIds(ids, of: key)
            guard !missing.isEmpty else { return }
            if readCost.readsWhole(missing: missing.count, stored: work.storedCheckStateCount(of: key)) {
                try await read(.allCheckStates(key), into: work)
                return
            }
            try storeReadAllowed()
            let found = try await store.checkStates(of: key, ids: missing)
            work.stage(checkStates: found, requested: missing, of: key)
        case .allCheckStates(let key):
            if !work.hasSubStream(key) {
                try await read(.context(ContextRequest(key: key, includingCheckStates: true)), into: work)
            }
            guard !work.hasAllCheckStates(of: key) else { return }
            try storeReadAllowed()
            work.stage(allCheckStates: try await store.checkStates(of: key), of: key)
        }
    }

    /// Throws ``ReadDuringCommitStream`` while the task fills a commit stream (``fillsCommitStream``).
    private func storeReadAllowed() throws {
        if Self.fillsCommitStream { throw ReadDuringCommitStream() }
    }

    /// Reads ahead what the rules ask of `work` to apply `message` (``HealthRules/process(_:in:at:receivedAt:)``):
    /// the stream and sub-stream, the check states the message names, and every check state when it completes a
    /// snapshot. It reads what the rules would, in the same store calls, and nothing for a message they ignore.
    func prepare(_ message: HealthMessage, in work: WorkingSet) async throws {
        let key = message.stream
        let diffs = HealthRules.readsCheckStatesFirst(message)
        try await read(.context(ContextRequest(key: key, includingCheckStates: diffs)), into: work)
        if let stream = work.stagedStream(key.urn), stream.consistencyModel != message.consistencyModel { return }
        guard !work.hasAllCheckStates(of: key) else { return }
        let record = work.stagedSubStream(key)
        switch message.consistencyModel {
        case .repeatSnapshots:
            if diffs, record?.openSnapshot != nil || message.startSnapshot != nil {
                try await read(.allCheckStates(key), into: work)
                return
            }
            // Check states outside a snapshot are dropped unread.
            guard record?.openSnapshot != nil || message.startSnapshot != nil else { return }
        case .transactionalIncrements:
            // An increment at or before the sub-stream's checkpoint is skipped unread.
            if let last = record?.checkpoint, let increment = message.increment, increment.checkpoint <= last { return }
        case .repeatStates:
            break
        }
        let ids = message.checkStates.compactMap(\.checkStateId)
        if !ids.isEmpty { try await read(.checkStates(key, ids: ids), into: work) }
    }

    /// Reads ahead every check state that firing the timers of these staged sub-streams due before `time` reads
    /// (``HealthRules/firingReadsCheckStates(of:before:)``).
    func prepareTimers(of keys: [StreamKey], in work: WorkingSet, before time: Date) async throws {
        for key in keys {
            guard let record = work.stagedSubStream(key), !work.hasAllCheckStates(of: key),
                HealthRules.firingReadsCheckStates(of: record, before: time)
            else { continue }
            try await read(.allCheckStates(key), into: work)
        }
    }
}
