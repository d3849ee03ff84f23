import Foundation
import Logging
import Synchronization

// MARK: Pipelined batches

extension HealthProcessor {
    /// Processes a batch and starts its commit without waiting for it, so that the next batch can be processed while
    /// this one commits; ``complete(_:)`` waits for the commit and returns the results.
    ///
    /// The outcome is that of ``apply(batch:)`` called once per batch, in the order the batches were staged: the
    /// commits run one after the other in that order, and a batch is read on top of every batch staged before it.
    /// While earlier batches still commit, the next one is read beside those commits
    /// (``PipelinedHealthStore/batchContextBesideWrites(of:due:)``) and what it read is used only when they
    /// change none of the streams read and none of their deadlines fall before the batch; otherwise the batch
    /// waits for the newest commit it depends on (and so for those before it) and is read beside the later ones, or
    /// after all of them, as ``apply(batch:)`` reads.
    ///
    /// When a staged commit fails, nothing of it is stored, and the batches staged after it are not written either:
    /// their commits, and stages made before the failed batch is completed, fail with a
    /// ``StorageError/Code/conflict``. A batch that could not be read or processed blocks the stages after it the
    /// same way. ``complete(_:)`` applies a batch that failed that way again with
    /// ``apply(batch:)``, so a caller that completes every staged batch, in the order they were staged, gets every
    /// envelope applied once and in order.
    ///
    /// Entries with a ``BatchEntry/receipt`` are handled as ``apply(batch:)`` handles them: an entry whose receipt was
    /// committed before, or that repeats the receipt of an earlier entry, is not applied and comes back with
    /// ``IntakeResult/alreadyApplied`` set, and the receipts of the entries applied are committed with them. A batch
    /// whose first or last receipt is stored (a replay run again), or that finds more timers due than a sweep batch,
    /// waits for the staged commits and is applied as ``apply(batch:)`` applies it. Otherwise the commit checks the
    /// receipts, and when one of them was committed before, ``complete(_:)`` applies the batch again with
    /// ``apply(batch:)``, which leaves that envelope out.
    ///
    /// Every other mutation (``apply(_:at:receivedAt:receipt:)``, ``apply(batch:)``, ``advance(to:)``, …) waits for
    /// the staged commits to finish before it reads.
    ///
    /// ```swift
    /// var previous: HealthProcessor.StagedBatch?
    /// for batch in batches {
    ///     let staged = await processor.stage(batch: batch)
    ///     if let previous { answer(try await processor.complete(previous)) }  // committed while `batch` was processed
    ///     previous = staged
    /// }
    /// if let previous { answer(try await processor.complete(previous)) }
    /// ```
    /// - Parameter entries: the envelopes, in the order to apply them.
    /// - Returns: the staged batch, to pass to ``complete(_:)``; a failure to read or process it is kept there.
    public func stage(batch entries: [BatchEntry]) async -> StagedBatch {
        guard !entries.isEmpty else { return StagedBatch(entries: [], outcome: .success([]), commit: nil) }
        do {
            return try await gate.run { () async throws -> StagedBatch in
                do {
                    return try await stageLocked(entries)
                } catch {
                    // A batch that could not be read or processed blocks the batches after it until it is completed,
                    // as a failed commit does: none of them is committed before it, so a caller that stops at its
                    // error (a replay) leaves a prefix of what it staged.
                    let commit = PipelinedCommit(failingWith: PipelinedCommit.earlierFailure)
                    pipelineTail.withLock { $0 = commit }
                    return StagedBatch(entries: entries, outcome: .failure(error), commit: commit)
                }
            }
        } catch {
            return StagedBatch(entries: entries, outcome: .failure(error), commit: nil)
        }
    }

    /// ``stage(batch:)`` of a batch that is not empty, in the gate.
    private func stageLocked(_ entries: [BatchEntry]) async throws -> StagedBatch {
        let previous = pipelineTail.withLock { $0 }
        if let previous, previous.blocksStaging { return poisoned(entries) }
        let receipts = entries.compactMap(\.receipt)
        var runAgain = false
        if let firstReceipt = receipts.first, let lastReceipt = receipts.last {
            runAgain = try await store.hasReceipt(firstReceipt)
            if !runAgain, lastReceipt != firstReceipt { runAgain = try await store.hasReceipt(lastReceipt) }
        }
        if runAgain {
            // Run again over what was committed: every receipt is looked up, after the staged commits.
            if let previous {
                _ = await previous.task.result
                if previous.blocksStaging { return poisoned(entries) }
            }
            let results = try await applyWithReceiptsLocked(entries)
            return StagedBatch(entries: entries, outcome: .success(results), commit: nil, noted: true)
        }
        // An entry repeating the receipt of an earlier one is left out; the commit checks the rest.
        var applied = Array(entries.indices)
        if receipts.count > 1 {
            var seen = Set<String>()
            applied = entries.indices.filter { entries[$0].receipt.map { seen.insert($0).inserted } ?? true }
        }
        let kept = applied.count == entries.count ? entries : applied.map { entries[$0] }
        guard let first = kept.first else { preconditionFailure("the first entry of a batch is applied") }
        // A batch starts at the time of the one staged before it at the earliest, committed or not yet; a
        // failed one is applied again at the committed clock.
        var start = try await effectiveTime(first.now)
        if let previous, let clock = previous.clock, !previous.failed { start = max(start, clock) }
        let end = kept.reduce(start) { max($0, $1.now) }
        let requests = Self.contextRequests(of: kept)
        var reads: BatchContext?
        var pending = previous?.unfinishedChain() ?? []
        // The chain runs from the newest commit back. A batch that depends on one of them waits for the newest it
        // depends on (and so for those before it), and is read beside the newer ones, when there are any.
        if let blocker = pending.firstIndex(where: {
            !PipelinedCommit.independent(of: [$0], requests: requests, due: [], before: end)
        }), blocker > 0 {
            _ = await pending[blocker].task.result
            if pending[blocker].blocksStaging { return poisoned(entries) }
            pending = Array(pending[..<blocker])
        }
        if let previous, !pending.isEmpty {
            // What the batch names is known before reading: only the due sub-streams need the read.
            if PipelinedCommit.independent(of: pending, requests: requests, due: [], before: end) {
                // The read cannot see the pending commits: a sub-stream they save looks due by its old
                // deadline, so the read asks for that many more.
                let limit = configuration.sweepBatchSize + pending.reduce(0) { $0 + $1.savedSubStreams.count }
                let beside = try await pipeline.batchContextBesideWrites(
                    of: requests, due: DueTimers(before: end, limit: limit))
                if beside.due.count < limit, let due = PipelinedCommit.due(beside.due, after: pending),
                    due.count < configuration.sweepBatchSize
                {
                    reads = BatchContext(due: due, contexts: beside.contexts)
                }
            }
            if reads == nil {
                _ = await previous.task.result
                if previous.blocksStaging { return poisoned(entries) }
            }
        }
        var backlog: SweepResult?
        if reads == nil {
            let read = try await store.batchContext(
                of: requests, due: DueTimers(before: end, limit: configuration.sweepBatchSize))
            if read.due.count >= configuration.sweepBatchSize {
                if !receipts.isEmpty {
                    // A backlog is fired before the first envelope applied, which only the receipts the
                    // commit has not checked yet tell: the batch is applied as `apply(batch:)` applies it.
                    let results = try await applyWithReceiptsLocked(entries)
                    return StagedBatch(entries: entries, outcome: .success(results), commit: nil, noted: true)
                }
                backlog = try await fireTimersLocked(before: start)
                reads = try await store.batchContext(of: requests, due: .all(before: end))
            } else {
                reads = read
            }
        }
        guard let reads else { preconditionFailure("a staged batch is read before it is processed") }
        let (processed, clock, change) = try await withReads { work in
            let (results, clock) = try await process(
                kept, from: start, reading: reads, of: requests, in: work)
            var change = work.makeChange(clock: clock, receipt: nil)
            change.receipts = kept.compactMap(\.receipt)
            return (results, clock, change)
        }
        var results = processed
        if kept.count < entries.count {
            results = entries.map { entry in
                IntakeResult(
                    rejections: entry.envelope.rejections, warnings: entry.envelope.warnings,
                    alreadyApplied: true)
            }
            for (index, result) in zip(applied, processed) { results[index] = result }
        }
        // The commit's task must not keep the processor, and with it the store, alive: a command that returns right
        // after the last commit would otherwise race the task's release, and a store released after the process
        // exits leaves its write-ahead log behind.
        let commit = PipelinedCommit(committing: change, at: clock, to: pipeline, after: previous) {
            [weak self] in self?.noteClock(clock)
        }
        pipelineTail.withLock { $0 = commit }
        return StagedBatch(
            entries: entries, outcome: .success(results), backlog: backlog, commit: commit,
            decisions: logger.logLevel <= .debug ? change.events : [])
    }

    /// Waits for a staged batch's commit and returns its results, one per entry, in order.
    ///
    /// When the commit (or the stage) failed with a ``StorageError/Code/conflict`` (another writer, or an earlier
    /// staged batch that failed) or a ``StorageError/Code/duplicateReceipt`` (a receipt of the batch was committed
    /// before), the batch is applied again with ``apply(batch:)``. Complete staged batches in the order they were
    /// staged.
    /// - Throws: what reading, processing or committing the batch threw, when applying it again was not the remedy;
    ///   nothing of the batch is then stored.
    public func complete(_ staged: StagedBatch) async throws -> [IntakeResult] {
        do {
            var results = try staged.outcome.get()
            if let commit = staged.commit { try await commit.task.value }
            guard !staged.noted else { return results }
            logDecisions(staged.decisions)
            noteCommitted(results)
            Self.merge(staged.backlog, into: &results)
            return results
        } catch let error as StorageError where error.code == .conflict || error.code == .duplicateReceipt {
            defer { staged.commit?.markCompleted() }
            logger.debug("staged batch failed, applying it again", metadata: ["error": "\(error)"])
            // The timers of a backlog the stage fired stay committed: they are the batch's, as with `apply(batch:)`.
            var results = try await apply(batch: staged.entries)
            Self.merge(staged.backlog, into: &results)
            return results
        } catch {
            staged.commit?.markCompleted()
            throw error
        }
    }

    /// A batch that cannot be staged because an earlier staged batch failed and is not completed yet: it becomes the
    /// tail, so that the batches after it wait for its completion too.
    private func poisoned(_ entries: [BatchEntry]) -> StagedBatch {
        let commit = PipelinedCommit(failingWith: PipelinedCommit.earlierFailure)
        pipelineTail.withLock { $0 = commit }
        return StagedBatch(entries: entries, outcome: .failure(PipelinedCommit.earlierFailure), commit: commit)
    }

    /// A batch processed by ``HealthProcessor/stage(batch:)`` whose commit may still run; pass it to
    /// ``HealthProcessor/complete(_:)``.
    public final class StagedBatch: Sendable {
        /// The envelopes of the batch.
        public let entries: [BatchEntry]
        let outcome: Result<[IntakeResult], any Error>
        let backlog: SweepResult?
        let commit: PipelinedCommit?
        /// The committed events to log once the commit succeeded (debug logging only; empty otherwise).
        let decisions: [HealthEvent]
        /// Whether the batch was applied and committed before ``HealthProcessor/stage(batch:)`` returned, its results
        /// noted (clock, metrics) and complete.
        let noted: Bool

        init(
            entries: [BatchEntry],
            outcome: Result<[IntakeResult], any Error>,
            backlog: SweepResult? = nil,
            commit: PipelinedCommit?,
            decisions: [HealthEvent] = [],
            noted: Bool = false
        ) {
            self.entries = entries
            self.outcome = outcome
            self.backlog = backlog
            self.commit = commit
            self.decisions = decisions
            self.noted = noted
        }
    }
}
