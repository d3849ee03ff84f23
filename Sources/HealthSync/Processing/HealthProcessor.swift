import Foundation
import Logging
import Metrics
import Synchronization

/// Applies health messages to a ``HealthStore`` and fires their timers (SPEC §3–§7).
///
/// Time comes only from the caller: every operation takes the processor time `now`. The processor keeps its
/// clock in the store and never lets it run backwards, so a `now` earlier than the clock is applied at the clock.
/// Before an envelope is applied, every timer whose deadline is strictly before `now` fires at its deadline; an
/// envelope stamped exactly at a deadline is therefore applied first.
///
/// Each envelope (with the timers due before it), batch of envelopes (``apply(batch:)``), sweep batch and operation
/// is one ``StoreChange`` committed atomically. Mutations run one at a time in arrival order. Reads (``status(of:)``
/// and the store's own queries) do not wait for them.
///
/// ```swift
/// let store = InMemoryHealthStore()
/// let processor = HealthProcessor(store: store)
/// let envelope = try EnvelopeDecoder().decode(bytes)
/// let result = try await processor.apply(envelope, at: envelope.collectionTimestamp ?? Date())
/// ```
public final class HealthProcessor: Sendable {
    /// Processor settings.
    public struct Configuration: Sendable {
        /// Extra time a source gets past its repeat interval before it is reported late (SPEC `lateGrace`).
        public var lateGrace: TimeInterval
        /// The largest accepted `repeat_interval_s`; above it `SubStreamRepeatIntervalTooHigh` is raised.
        public var maximumRepeatInterval: Int
        /// How often a commit that lost a race with another writer is retried before the error is thrown.
        public var conflictRetries: Int
        /// How many due sub-streams one sweep commit handles.
        public var sweepBatchSize: Int

        /// Creates a configuration.
        public init(
            lateGrace: TimeInterval = 0,
            maximumRepeatInterval: Int = 1800,
            conflictRetries: Int = 8,
            sweepBatchSize: Int = 256
        ) {
            self.lateGrace = lateGrace
            self.maximumRepeatInterval = maximumRepeatInterval
            self.conflictRetries = conflictRetries
            self.sweepBatchSize = sweepBatchSize
        }
    }

    /// The store the processor reads and commits to.
    public let store: any HealthStore
    /// The store's pipelining: the store itself when it adopts ``PipelinedHealthStore``, otherwise
    /// ``UnpipelinedHealthStore`` over it. Looked up once, here, not per batch.
    let pipeline: any PipelinedHealthStore
    /// ``PipelinedHealthStore/prefersCheckStateRefreshes`` of ``pipeline``, read once.
    let sendsRefreshes: Bool
    /// The settings.
    public let configuration: Configuration
    /// The processing rules (synchronous, over records staged in a working set).
    let rules: HealthRules
    /// When the shell reads all of a sub-stream's check states instead of some by id.
    let readCost = ReadCostPolicy.standard
    let logger: Logger
    let gate = SerialGate()
    private let cachedClock = Mutex<Date?>(nil)
    /// The last batch staged by ``stage(batch:)``, whose commit may still run.
    let pipelineTail = Mutex<PipelinedCommit?>(nil)
    let metrics = ProcessorMetrics()
    /// How many envelopes were committed in parts (``applyInParts(_:from:reading:of:receipts:)``), for the tests.
    let envelopesCommittedInParts = Atomic<Int>(0)

    /// Creates a processor over `store`.
    /// - Parameters:
    ///   - store: where state lives; the processor keeps nothing else between calls but a cache of the clock.
    ///   - configuration: the settings.
    ///   - logger: where processing is logged (at `debug` and `trace`).
    public init(
        store: any HealthStore,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "healthsync.processor")
    ) {
        self.store = store
        let pipeline = store as? any PipelinedHealthStore ?? UnpipelinedHealthStore(store)
        self.pipeline = pipeline
        sendsRefreshes = pipeline.prefersCheckStateRefreshes
        self.configuration = configuration
        rules = HealthRules(configuration: configuration)
        self.logger = logger
    }

    // MARK: Clock

    /// The processor clock: the latest time it was advanced to, or `nil` before anything happened.
    /// - Throws: ``StorageError``.
    public func clock() async throws -> Date? {
        if let cached = cachedClock.withLock({ $0 }) { return cached }
        guard let stored = try await store.clock() else { return nil }
        noteClock(stored)
        return cachedClock.withLock { $0 }
    }

    func effectiveTime(_ now: Date) async throws -> Date {
        guard let clock = try await clock() else { return now }
        return max(clock, now)
    }

    func noteClock(_ time: Date) {
        cachedClock.withLock { $0 = max($0 ?? time, time) }
    }

    // MARK: Envelopes

    /// Applies one decoded envelope at processor time `now`, after firing the timers due before it.
    ///
    /// The envelope's valid messages are applied in order and committed together; its ``Envelope/rejections``
    /// are reported back, not applied. Without a receipt this is ``apply(batch:)`` of one envelope: the timers due
    /// before it are committed in the same transaction (unless more are due than a sweep batch).
    /// - Parameters:
    ///   - envelope: the decoded envelope.
    ///   - now: the processor time to apply it at (a replay passes `collection_timestamp`, an intake wall time).
    ///   - receivedAt: when the intake received it, for the latency metric; defaults to `now`.
    ///   - receipt: an idempotency key; an envelope whose receipt was committed before is not applied again
    ///     and comes back with ``IntakeResult/alreadyApplied`` set.
    /// - Returns: what was applied and rejected.
    /// - Throws: ``StorageError`` when the store fails; nothing of the envelope is then stored.
    @discardableResult
    public func apply(
        _ envelope: Envelope,
        at now: Date,
        receivedAt: Date? = nil,
        receipt: String? = nil
    ) async throws -> IntakeResult {
        guard let receipt else {
            // Without a receipt an envelope is a batch of one: the timers due before it are committed with it.
            let results = try await apply(batch: [BatchEntry(envelope, at: now, receivedAt: receivedAt)])
            guard let result = results.first else { preconditionFailure("a batch of one has one result") }
            return result
        }
        return try await exclusively {
            var result = IntakeResult(rejections: envelope.rejections, warnings: envelope.warnings)
            if try await store.hasReceipt(receipt) {
                result.alreadyApplied = true
                return result
            }
            let time = try await effectiveTime(now)
            result.appliedAt = time
            result.timers = try await fireTimersLocked(before: time)
            do {
                let counts = try await withConflictRetries { () async throws -> ChangeCounts in
                    if Self.commitStreamParts(of: envelope.messages).count > 1 {
                        // A large envelope: read it in one call, and commit it in parts when it can be.
                        let entries = [BatchEntry(envelope, at: time, receivedAt: receivedAt)]
                        let requests = Self.contextRequests(of: entries)
                        let reads = try await store.batchContext(of: requests, due: DueTimers(before: time, limit: 1))
                        if let results = try await applyInParts(
                            entries, from: time, reading: reads, of: requests, receipts: [receipt])
                        {
                            // Committed: never applied again below.
                            return results.first?.counts ?? ChangeCounts()
                        }
                    }
                    return try await withReads { work in
                        for message in envelope.messages {
                            try await prepare(message, in: work)
                            try rules.process(message, in: work, at: time, receivedAt: receivedAt ?? time)
                        }
                        try await commitLogged(work.makeChange(clock: time, receipt: receipt))
                        return work.counts
                    }
                }
                result.counts = counts
            } catch let error as StorageError where error.code == .duplicateReceipt {
                result.alreadyApplied = true
                return result
            }
            result.messagesApplied = envelope.messages.count
            noteClock(time)
            metrics.record(result)
            return result
        }
    }

    // MARK: Batches

    /// One envelope of a batch for ``apply(batch:)``: what ``apply(_:at:receivedAt:receipt:)`` takes.
    public struct BatchEntry: Sendable {
        /// The decoded envelope.
        public var envelope: Envelope
        /// The processor time to apply it at.
        public var now: Date
        /// When the intake received it, for the latency metric; `nil` means `now`.
        public var receivedAt: Date?
        /// An idempotency key, as for ``HealthProcessor/apply(_:at:receivedAt:receipt:)``: an entry whose receipt
        /// was committed before (or comes earlier in the same batch) is not applied and comes back with
        /// ``IntakeResult/alreadyApplied`` set.
        public var receipt: String?

        /// Creates an entry.
        /// - Parameters:
        ///   - envelope: the decoded envelope.
        ///   - now: the processor time to apply it at.
        ///   - receivedAt: when the intake received it; defaults to `now`.
        ///   - receipt: an idempotency key; `nil` for none.
        public init(_ envelope: Envelope, at now: Date, receivedAt: Date? = nil, receipt: String? = nil) {
            self.envelope = envelope
            self.now = now
            self.receivedAt = receivedAt
            self.receipt = receipt
        }
    }

    /// Applies several envelopes in order, as one atomic commit (group commit).
    ///
    /// The outcome is that of applying them one by one with ``apply(_:at:receivedAt:receipt:)``, in order: each
    /// envelope is applied at its own time (never before the previous one's), after the timers due strictly before
    /// that time fired at their deadlines, and gets its own ``IntakeResult`` with its own counts, timers and
    /// rejections. Only the commits differ: everything, the timers included, is staged in one working set and
    /// committed as one ``StoreChange``, so that many small envelopes cost one transaction (and one sync) instead
    /// of one each.
    ///
    /// Entries with a ``BatchEntry/receipt`` are skipped when their receipt was committed before or an earlier entry
    /// of the batch has it: they come back with ``IntakeResult/alreadyApplied`` set and, as with one envelope at a
    /// time, neither move the clock nor fire timers. The receipts of the entries applied are committed with them, in
    /// the one commit: a crash leaves all of the batch's envelopes and receipts stored, or none.
    ///
    /// When more timers are due before the first envelope than one sweep commit handles
    /// (``Configuration/sweepBatchSize``), they are first fired and committed as ``advance(to:)`` would, in sweep
    /// batches, and the envelopes follow in the one commit.
    ///
    /// ```swift
    /// let results = try await processor.apply(batch: [
    ///     HealthProcessor.BatchEntry(first, at: firstTime),
    ///     HealthProcessor.BatchEntry(second, at: secondTime),
    /// ])
    /// ```
    /// - Parameter entries: the envelopes, in the order to apply them; an empty batch does nothing.
    /// - Returns: one result per entry, in the same order.
    /// - Throws: ``StorageError`` when the store fails; nothing of the envelopes is then stored (timers fired
    ///   beforehand in their own sweep commits, as described above, stay committed).
    public func apply(batch entries: [BatchEntry]) async throws -> [IntakeResult] {
        guard !entries.isEmpty else { return [] }
        return try await exclusively {
            guard entries.contains(where: { $0.receipt != nil }) else {
                var backlog: SweepResult?
                return try await applyLocked(entries, receipts: [], backlog: &backlog)
            }
            return try await applyWithReceiptsLocked(entries)
        }
    }

    /// ``apply(batch:)`` of entries some of which have receipts, in the gate: the entries whose receipts are stored
    /// (or repeat one of an earlier entry) are left out, and the others are applied with their receipts.
    ///
    /// The receipts are looked up all at once only when the first or the last one is stored (a replay run again):
    /// otherwise the batch is applied on the assumption that none is, which the commit checks; when it fails with a
    /// duplicate receipt (an envelope of the middle was applied before), every receipt is looked up and the batch
    /// applied again without those.
    func applyWithReceiptsLocked(_ entries: [BatchEntry]) async throws -> [IntakeResult] {
        let receipts = entries.compactMap(\.receipt)
        var lookUpAll = false
        if let first = receipts.first, let last = receipts.last {
            lookUpAll = try await store.hasReceipt(first)
            if !lookUpAll, last != first { lookUpAll = try await store.hasReceipt(last) }
        }
        var attempt = 0
        var backlog: SweepResult?
        while true {
            var stored: Set<String> = []
            if lookUpAll {
                for receipt in receipts where try await store.hasReceipt(receipt) { stored.insert(receipt) }
            }
            // Which entries to apply: no stored receipt and none of an earlier entry.
            var seen = stored
            var applied: [Int] = []
            for (index, entry) in entries.enumerated() {
                guard let receipt = entry.receipt else {
                    applied.append(index)
                    continue
                }
                if seen.insert(receipt).inserted { applied.append(index) }
            }
            do {
                let kept = applied.map { entries[$0] }
                let results = try await applyLocked(kept, receipts: kept.compactMap(\.receipt), backlog: &backlog)
                var all = entries.map { entry in
                    IntakeResult(
                        rejections: entry.envelope.rejections, warnings: entry.envelope.warnings, alreadyApplied: true)
                }
                for (index, result) in zip(applied, results) { all[index] = result }
                return all
            } catch let error as StorageError
                where error.code == .duplicateReceipt && attempt < configuration.conflictRetries
            {
                // Another writer, or an earlier run, committed a receipt of the batch that was not looked up.
                attempt += 1
                lookUpAll = true
                logger.debug(
                    "a receipt of the batch was committed before, looking them all up", metadata: ["error": "\(error)"])
            }
        }
    }

    /// ``apply(batch:)`` in the gate, committing `receipts` with the batch.
    ///
    /// The timers of a backlog fired in sweep commits before the batch are added to `backlog`, which keeps them when
    /// the batch's own commit then fails, and merged into the first result.
    private func applyLocked(
        _ entries: [BatchEntry],
        receipts: [String],
        backlog: inout SweepResult?
    ) async throws -> [IntakeResult] {
        guard let first = entries.first else { return [] }
        let start = try await effectiveTime(first.now)
        let end = entries.reduce(start) { max($0, $1.now) }
        // One store call reads the committed deadlines due before the batch's last time and every sub-stream the
        // envelopes name. When more are due than a sweep batch (a backlog after downtime), the ones due before
        // the first envelope are fired in sweep commits first, as `apply` does, and everything is read again.
        let contextRequests = Self.contextRequests(of: entries)
        var known: BatchContext? = try await store.batchContext(
            of: contextRequests, due: DueTimers(before: end, limit: configuration.sweepBatchSize))
        if known?.due.count ?? 0 >= configuration.sweepBatchSize {
            let fired = try await fireTimersLocked(before: start)
            if backlog == nil { backlog = fired } else { backlog?.add(fired) }
            known = nil
        }
        var results = try await withConflictRetries { () async throws -> [IntakeResult] in
            // Read once, or again when a conflict made the batch start over.
            let reads: BatchContext
            if let initial = known.take() {
                reads = initial
            } else {
                reads = try await store.batchContext(of: contextRequests, due: .all(before: end))
            }
            if let results = try await applyInParts(
                entries, from: start, reading: reads, of: contextRequests, receipts: receipts)
            {
                return results
            }
            return try await withReads { work in
                let (results, clock) = try await process(
                    entries, from: start, reading: reads, of: contextRequests, in: work)
                var change = work.makeChange(clock: clock, receipt: nil)
                change.receipts = receipts
                try await commitLogged(change)
                return results
            }
        }
        noteCommitted(results)
        Self.merge(backlog, into: &results)
        return results
    }

    /// Stages a batch's reads in `work` and applies its envelopes there, as ``apply(batch:)`` describes: each at its
    /// own time, never before the previous one's (the first at `start` or later), after the timers due before it.
    /// - Returns: one result per entry, and the time of the last one.
    func process(
        _ entries: [BatchEntry],
        from start: Date,
        reading reads: BatchContext,
        of requests: [ContextRequest],
        in work: WorkingSet
    ) async throws -> (results: [IntakeResult], clock: Date) {
        work.stage(reads.contexts, of: requests.map(\.key))
        for key in reads.due { try await read(.context(ContextRequest(key: key)), into: work) }
        var clock = start
        var results: [IntakeResult] = []
        results.reserveCapacity(entries.count)
        for entry in entries {
            let time = max(clock, entry.now)
            clock = time
            var result = IntakeResult(rejections: entry.envelope.rejections, warnings: entry.envelope.warnings)
            result.appliedAt = time
            let due = HealthRules.stagedDue(in: work, before: time)
            try await prepareTimers(of: due, in: work, before: time)
            result.timers = try rules.fireTimers(of: due, in: work, before: time)
            for message in entry.envelope.messages {
                try await prepare(message, in: work)
                try rules.process(message, in: work, at: time, receivedAt: entry.receivedAt ?? time)
            }
            result.counts = work.takeCounts()
            result.messagesApplied = entry.envelope.messages.count
            results.append(result)
        }
        return (results, clock)
    }

    /// Notes the clock and records the metrics of a committed batch's results.
    func noteCommitted(_ results: [IntakeResult]) {
        if let last = results.last?.appliedAt { noteClock(last) }
        for result in results {
            // A backlog's sweep was recorded when it was committed.
            if let timers = result.timers { metrics.record(timers) }
            metrics.record(result)
        }
    }

    /// Adds the timers of a backlog fired (and committed) before a batch to the batch's first result of an envelope
    /// applied (one skipped as already applied has no timers).
    static func merge(_ backlog: SweepResult?, into results: inout [IntakeResult]) {
        guard let backlog, let first = results.firstIndex(where: { $0.timers != nil }),
            var timers = results[first].timers
        else { return }
        timers.timersFired += backlog.timersFired
        timers.missedPeriods += backlog.missedPeriods
        timers.counts = backlog.counts + timers.counts
        results[first].timers = timers
    }

    /// The sub-streams a batch's messages name, each once, in order of first mention, and whether to read its check
    /// states with it (as ``prepare(_:in:)`` does for a message that stops a snapshot).
    static func contextRequests(
        of entries: [BatchEntry]
    ) -> [ContextRequest] {
        var requests: [ContextRequest] = []
        var positions: [StreamKey: Int] = [:]
        for entry in entries {
            for message in entry.envelope.messages {
                let includingCheckStates = HealthRules.readsCheckStatesFirst(message)
                if let position = positions[message.stream] {
                    if includingCheckStates { requests[position].includingCheckStates = true }
                } else {
                    positions[message.stream] = requests.count
                    requests.append(ContextRequest(key: message.stream, includingCheckStates: includingCheckStates))
                }
            }
        }
        return requests
    }

    // MARK: Timers

    /// Advances the clock to `now` and fires, at their deadlines, every timer due strictly before it.
    /// - Returns: what the timers did.
    /// - Throws: ``StorageError``.
    @discardableResult
    public func advance(to now: Date) async throws -> SweepResult {
        try await exclusively {
            let time = try await effectiveTime(now)
            var result = try await fireTimersLocked(before: time)
            if try await store.clock() ?? .distantPast < time {
                var change = StoreChange()
                change.clock = time
                try await store.commit(change)
            }
            noteClock(time)
            result.clock = time
            return result
        }
    }

    func fireTimersLocked(before time: Date) async throws -> SweepResult {
        var result = SweepResult(clock: time)
        while true {
            let due = try await store.dueSubStreams(before: time, limit: configuration.sweepBatchSize)
            if due.isEmpty { break }
            let swept = try await withConflictRetries { () async throws -> SweepResult in
                // The due sub-streams with their streams and errors in one store call, not three per timer.
                let reads = try await store.batchContext(of: due.map { ContextRequest(key: $0) }, due: nil)
                return try await withReads { work in
                    work.stage(reads.contexts, of: due)
                    try await prepareTimers(of: due, in: work, before: time)
                    let swept = try rules.fireTimers(of: due, in: work, before: time)
                    try await commitLogged(work.makeChange(clock: nil, receipt: nil))
                    return swept
                }
            }
            result.add(swept)
            if due.count < configuration.sweepBatchSize { break }
        }
        metrics.record(result)
        return result
    }

    // MARK: Operations

    /// Deletes a stream with all its sub-streams, check states and errors (SPEC §6). A later message recreates it
    /// with a fresh model lock.
    /// - Returns: `false` when there is no such stream.
    /// - Throws: ``StorageError``.
    @discardableResult
    public func deleteStream(_ urn: String, at now: Date) async throws -> Bool {
        try await exclusively {
            let time = try await effectiveTime(now)
            return try await withConflictRetries {
                try await withReads { work in
                    try await read(.stream(urn: urn), into: work)
                    guard work.stagedStream(urn) != nil else { return false }
                    let keys = try await store.subStreams(of: urn).map(\.key)
                    for key in keys { try await read(.allCheckStates(key), into: work) }
                    guard try rules.deleteStream(urn, subStreams: keys, in: work, at: time) else { return false }
                    try await commitLogged(work.makeChange(clock: time, receipt: nil))
                    noteClock(time)
                    return true
                }
            }
        }
    }

    /// Closes every open error of a stream, stream-level and of all its sub-streams (SPEC §6 clear errors).
    /// - Returns: how many error records were closed, or `nil` when there is no such stream.
    /// - Throws: ``StorageError``.
    @discardableResult
    public func clearErrors(of urn: String, at now: Date) async throws -> Int? {
        try await exclusively {
            let time = try await effectiveTime(now)
            return try await withConflictRetries { () async throws -> Int? in
                try await withReads { work in
                    try await read(.stream(urn: urn), into: work)
                    for error in work.openErrors(of: urn) where !error.key.streamLevel {
                        try await read(.subStream(StreamKey(urn: urn, subStreamId: error.key.subStreamId)), into: work)
                    }
                    guard let closed = try rules.clearErrors(of: urn, in: work, at: time) else { return nil }
                    try await commitLogged(work.makeChange(clock: time, receipt: nil))
                    noteClock(time)
                    return closed
                }
            }
        }
    }

    // MARK: Internals

    /// Commits `change`, then, with debug logging, logs what it decided (``logDecisions(_:)``).
    func commitLogged(_ change: StoreChange) async throws {
        try await store.commit(change)
        logDecisions(change.events)
    }

    /// With debug logging (the command line's `--verbose`), one line per committed event: what processing decided
    /// and why — `urn:health:a:b main check a: CLEAR → CRITICAL`, `… SubStreamLateData opened: …`. Nothing is built
    /// at any other level.
    func logDecisions(_ events: [HealthEvent]) {
        guard logger.logLevel <= .debug else { return }
        for event in events {
            var subject = "\(event.urn) \(event.subStreamId.isEmpty ? "main" : "sub-stream \(event.subStreamId)")"
            if let id = event.checkStateId { subject += " check \(id)" }
            logger.debug("\(timestamp(event.at)) \(subject): \(event.explanation)")
        }
    }

    /// Runs `body` through the gate, once the commits of staged batches (``stage(batch:)``) finished: a mutation
    /// that is not a staged batch reads and commits on top of everything staged before it.
    func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await gate.run {
            if let tail = pipelineTail.withLock({ $0 }) { _ = await tail.task.result }
            return try await body()
        }
    }

    func withConflictRetries<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as StorageError where error.code == .conflict && attempt < configuration.conflictRetries {
                attempt += 1
                logger.debug("commit conflict, retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
            }
        }
    }
}
