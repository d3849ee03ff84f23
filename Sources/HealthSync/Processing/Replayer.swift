import Foundation

/// Replays payload files into a processor (SPEC §7): envelopes in file order; before each, the clock advances to
/// its `collection_timestamp` (when present and not earlier than the clock) and the timers due up to then fire.
/// A line of a JSON Lines file that is a push report (``ReportLine``) is applied as its translation
/// (``reports``) at its `received_at`.
///
/// Every applied envelope is committed with a receipt derived from its file's content and its line, so a replay
/// interrupted at any point and run again skips what was committed and finishes with the same state as an
/// uninterrupted run.
public struct Replayer: Sendable {
    /// One problem found while replaying, located in its file.
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        /// The file as it was named.
        public var file: String
        /// The 1-based line (of the envelope, or of a malformed-JSON error).
        public var line: Int
        /// The problem.
        public var error: PayloadError

        /// Creates a finding.
        public init(file: String, line: Int, error: PayloadError) {
            self.file = file
            self.line = line
            self.error = error
        }

        /// `FILE:LINE: JSON-PATH: reason`.
        public var description: String {
            var reason = error.reason
            if let column = error.column { reason = "column \(column): \(reason)" }
            if let value = error.value { reason += " (found \(value))" }
            return "\(file):\(line): \(error.path): \(reason)"
        }
    }

    /// A payload file to replay.
    public struct Source: Sendable {
        /// How findings name the file.
        public var name: String
        /// Its bytes.
        public var bytes: [UInt8]

        /// Creates a source.
        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// What a replay did.
    public struct Outcome: Sendable, Hashable {
        /// Envelopes applied (including those with rejected messages).
        public var envelopesApplied = 0
        /// Envelopes rejected as a whole (SPEC §2 level 1).
        public var envelopesRejected = 0
        /// Envelopes skipped because an earlier run committed them.
        public var envelopesAlreadyApplied = 0
        /// Messages rejected (SPEC §2 level 2).
        public var messagesRejected = 0
        /// What messages and timers changed.
        public var counts = ChangeCounts()
        /// Timers fired; a run of missed repeat intervals of one sub-stream fires one late-data timer.
        public var timersFired = 0
        /// Missed repeat intervals counted by the late-data timers (``SweepResult/missedPeriods``).
        public var missedPeriods = 0
        /// Level 1 and 2 rejections, in replay order.
        public var rejections: [Finding] = []
        /// Check states dropped (level 3) and strict-mode findings; they do not fail a replay.
        public var warnings: [Finding] = []
        /// The processor clock at the end.
        public var clock: Date?

        /// Adds what the timers of `sweep` fired, counted and changed.
        mutating func add(_ sweep: SweepResult) {
            timersFired += sweep.timersFired
            missedPeriods += sweep.missedPeriods
            counts += sweep.counts
        }

        /// Creates an empty outcome.
        public init() {}

        /// Whether every envelope and message was applied.
        public var isClean: Bool { rejections.isEmpty }
    }

    /// The processor to replay into.
    public let processor: HealthProcessor
    /// The decoder.
    public let decoder: EnvelopeDecoder
    /// Where the time comes from for an envelope without `collection_timestamp` before the clock was ever set.
    public let fallbackClock: any HealthClock
    /// How the push reports of a file (``ReportLine``, lines whose first key is `report`) become envelopes.
    public var reports = ReportTranslation()

    /// Creates a replayer.
    public init(
        processor: HealthProcessor, decoder: EnvelopeDecoder = EnvelopeDecoder(),
        fallbackClock: any HealthClock = SystemClock()
    ) {
        self.processor = processor
        self.decoder = decoder
        self.fallbackClock = fallbackClock
    }

    /// Replays the sources in order.
    /// - Parameters:
    ///   - sources: the files.
    ///   - start: advance the clock to this time first.
    ///   - until: after the last envelope, advance the clock to this time (firing the timers due before it).
    /// - Throws: ``StorageError`` when the store fails (what was committed before stays committed).
    public func replay(_ sources: [Source], start: Date? = nil, until: Date? = nil) async throws -> Outcome {
        var outcome = Outcome()
        if let start {
            let sweep = try await processor.advance(to: start)
            outcome.add(sweep)
        }
        for source in sources {
            let digest = PayloadFile.digest(source.bytes)
            for entry in PayloadFile.entries(
                in: source.bytes, jsonLines: PayloadFile.isJSONLinesName(source.name) ? true : nil)
            {
                try await replay(entry, of: source, digest: digest, into: &outcome)
            }
        }
        if let until {
            let sweep = try await processor.advance(to: until)
            outcome.add(sweep)
        }
        outcome.clock = try await processor.clock()
        return outcome
    }

    private func replay(
        _ entry: PayloadFile.Entry,
        of source: Source,
        digest: String,
        into outcome: inout Outcome
    ) async throws {
        let envelope: Envelope
        do {
            if ReportLine.isReportLine(entry.bytes) {
                envelope = reports.envelope(for: try ReportLine.decode(entry.bytes))
            } else {
                envelope = try decoder.decode(entry.bytes)
            }
        } catch {
            outcome.envelopesRejected += 1
            let line = entry.line + (error.line ?? 1) - 1
            outcome.rejections.append(Finding(file: source.name, line: line, error: error))
            return
        }
        let clock = try await processor.clock()
        let time = envelope.collectionTimestamp ?? clock ?? fallbackClock.now
        let result = try await processor.apply(envelope, at: time, receipt: "replay:\(digest):\(entry.line)")
        if result.alreadyApplied {
            outcome.envelopesAlreadyApplied += 1
            return
        }
        outcome.envelopesApplied += 1
        outcome.messagesRejected += result.messagesRejected
        outcome.counts += result.counts
        if let timers = result.timers {
            outcome.add(timers)
        }
        for rejection in result.rejections {
            outcome.rejections.append(Finding(file: source.name, line: entry.line, error: rejection))
        }
        for warning in result.warnings {
            outcome.warnings.append(Finding(file: source.name, line: entry.line, error: warning))
        }
        for message in envelope.messages {
            for case .invalid(_, let problem) in message.checkStates {
                outcome.warnings.append(Finding(file: source.name, line: entry.line, error: problem))
            }
        }
    }
}
