import Foundation
import Logging
import Synchronization

// MARK: A large envelope committed in parts

extension HealthProcessor {
    /// Thrown by the processor's store reads while a commit stream is open: processing stops, the stream is
    /// abandoned, and the envelope is applied whole.
    struct ReadDuringCommitStream: Error {}

    /// Whether the current task fills a commit stream: its store reads then throw ``ReadDuringCommitStream``, since
    /// the writer connection waits for the stream's next part.
    @TaskLocal static var fillsCommitStream = false

    /// The fewest check states (and, for the cut, messages) a part of a commit stream holds: a smaller envelope is
    /// committed whole. Parts this size keep the writer busy while the next one is processed, at a hop each.
    static let commitStreamPartSize = 500

    /// Where to cut one envelope's messages into parts of a commit stream: after a message of at least
    /// ``commitStreamPartSize`` check states since the last cut, and only where no later message names a stream of
    /// the part (the parts then change disjoint streams, and none reads what another writes).
    /// - Returns: the ranges of messages, in order; fewer than two when the envelope is better committed whole.
    static func commitStreamParts(of messages: [HealthMessage]) -> [Range<Int>] {
        var total = 0
        for message in messages { total += message.checkStates.count }
        guard total >= 2 * commitStreamPartSize else { return [] }
        var last: [String: Int] = [:]
        for (index, message) in messages.enumerated() { last[message.stream.urn] = index }
        var parts: [Range<Int>] = []
        var start = 0
        var size = 0
        var reach = 0
        for (index, message) in messages.enumerated() {
            size += message.checkStates.count
            reach = max(reach, last[message.stream.urn] ?? index)
            if index == reach, size >= commitStreamPartSize, index + 1 < messages.count {
                parts.append(start..<index + 1)
                start = index + 1
                size = 0
            }
        }
        if start < messages.count { parts.append(start..<messages.count) }
        return parts
    }

    /// Applies a batch of one large envelope in parts written as they are processed, in one transaction
    /// (``PipelinedHealthStore/openCommitStream()``), or returns `nil` to have it applied whole: for a batch of more
    /// than one envelope, an envelope too small to cut, timers due before it, a store without commit streams, or a
    /// part that needs a read the batch context did not make.
    ///
    /// The outcome is the one-shot commit's: every part is processed on its own working set from the batch's reads,
    /// the parts change disjoint streams (``commitStreamParts(of:)``), and the last part carries the clock.
    func applyInParts(
        _ entries: [BatchEntry],
        from start: Date,
        reading reads: BatchContext,
        of requests: [ContextRequest],
        receipts: [String]
    ) async throws -> [IntakeResult]? {
        guard entries.count == 1, let entry = entries.first, reads.due.isEmpty else { return nil }
        let messages = entry.envelope.messages
        let parts = Self.commitStreamParts(of: messages)
        guard parts.count > 1, let stream = pipeline.openCommitStream() else { return nil }
        var ended = false
        defer { if !ended { stream.abandon() } }
        var position: [StreamKey: Int] = [:]
        for (index, request) in requests.enumerated() { position[request.key] = index }
        let time = max(start, entry.now)
        var result = IntakeResult(rejections: entry.envelope.rejections, warnings: entry.envelope.warnings)
        result.appliedAt = time
        var counts = ChangeCounts()
        var decisions: [HealthEvent] = []
        do {
            try await Self.$fillsCommitStream.withValue(true) {
                for (number, range) in parts.enumerated() {
                    var keys: [StreamKey] = []
                    var contexts: [StreamContext] = []
                    for message in messages[range] {
                        guard let index = position.removeValue(forKey: message.stream) else { continue }
                        keys.append(message.stream)
                        contexts.append(reads.contexts[index])
                    }
                    let isLast = number == parts.count - 1
                    let (change, partCounts, timers) = try await withReads {
                        work -> (StoreChange, ChangeCounts, SweepResult?) in
                        work.stage(contexts, of: keys)
                        // As `process` does before an envelope: nothing is due (the batch read found nothing); a part
                        // that finds a timer due goes whole, as an unplanned read does.
                        let due = HealthRules.stagedDue(in: work, before: time)
                        guard due.isEmpty else { throw ReadDuringCommitStream() }
                        let timers = number == 0 ? try rules.fireTimers(of: due, in: work, before: time) : nil
                        for message in messages[range] {
                            try await prepare(message, in: work)
                            try rules.process(message, in: work, at: time, receivedAt: entry.receivedAt ?? time)
                        }
                        var change = work.makeChange(clock: isLast ? time : nil, receipt: nil)
                        if number == 0 { change.receipts = receipts }
                        return (change, work.takeCounts(), timers)
                    }
                    if let timers { result.timers = timers }
                    counts = counts + partCounts
                    if logger.logLevel <= .debug { decisions += change.events }
                    stream.send(change)
                }
            }
        } catch is ReadDuringCommitStream {
            return nil
        }
        ended = true
        try await stream.finish()
        envelopesCommittedInParts.add(1, ordering: .relaxed)
        logDecisions(decisions)
        result.counts = counts
        result.messagesApplied = messages.count
        return [result]
    }
}
