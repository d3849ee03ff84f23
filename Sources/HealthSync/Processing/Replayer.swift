import Foundation

/// Replays payload files into a processor (SPEC §7): envelopes in file order; before each, the clock advances to
/// its `collection_timestamp` (when present and not earlier than the clock) and the timers due up to then fire.
/// A line of a JSON Lines file that is a push report (``ReportLine``) is applied as its translation
/// (``reports``) at its `received_at`.
///
/// Every applied envelope is committed with a receipt derived from its file's content and its line, so a replay
/// interrupted at any point and run again skips what was committed and finishes with the same state as an
/// uninterrupted run.
///
/// A replay is a bulk load: up to ``envelopesPerCommit`` consecutive envelopes (across files) are applied as one
/// batch, in one transaction with their receipts, and pipelined: while earlier batches commit (up to
/// ``batchesInFlight``), the next is processed (``HealthProcessor/stage(batch:)``) and the one after it decoded. The
/// outcome, the stored state and the event record are those of applying the envelopes one at a time; a crash leaves
/// whole envelopes only.
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
        /// ``PayloadFile/digest(_:)`` of ``bytes`` when the caller has it already (computed while reading the file,
        /// with ``PayloadFile/Digest``); `nil` to have the replay compute it before the file's first envelope. The
        /// receipts of the file's envelopes are made from it: it must be the digest of exactly these bytes.
        public var digest: String?

        /// Creates a source.
        public init(name: String, bytes: [UInt8], digest: String? = nil) {
            self.name = name
            self.bytes = bytes
            self.digest = digest
        }

        /// ``digest``, or computed.
        var contentDigest: String { digest ?? PayloadFile.digest(bytes) }
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
    /// How many envelopes one commit applies at most (``HealthProcessor/apply(batch:)``); `1` applies and commits
    /// each envelope on its own with ``HealthProcessor/apply(_:at:receivedAt:receipt:)``. Values below 1 count as 1.
    public var envelopesPerCommit = Self.defaultEnvelopesPerCommit

    /// The default of ``envelopesPerCommit``: large enough that a commit's sync is shared by many envelopes, small
    /// enough that a batch's working set stays small.
    public static let defaultEnvelopesPerCommit = 256

    /// How many staged batches may wait for their commits while the next batch is processed; values below 1 count
    /// as 1. More than one lets the processor run ahead of a writer that is the slower stage for a while (a
    /// capture's first round, which creates every check state), as far as the batches' streams allow: a batch waits
    /// for the commits of the streams it names (``HealthProcessor/stage(batch:)``). Batches beside the newest are
    /// kept in flight only while they carry at most ``checkStatesInFlight`` check states, so that large envelopes do
    /// not multiply the memory a replay takes.
    public var batchesInFlight = Self.defaultBatchesInFlight

    /// The default of ``batchesInFlight``: on a generated capture of 1,000 streams (one run each), 2 took as long as
    /// 1 and 4 about as little as 6 (Docs/performance.md, *Replay*).
    public static let defaultBatchesInFlight = 4

    /// The most check states (of the envelopes' messages) that the batches in flight carry beside the newest one
    /// (``batchesInFlight``): past it, the oldest are completed first. A check state in flight takes about 350 bytes
    /// (decoded, processed and staged).
    public var checkStatesInFlight = Self.defaultCheckStatesInFlight

    /// The default of ``checkStatesInFlight``, about 40 MB: room for the three batches beside the newest when
    /// envelopes carry 100 check states (3 × 256 × 100); envelopes of 1,000 keep one batch in flight, as before.
    public static let defaultCheckStatesInFlight = 120_000

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
        if envelopesPerCommit <= 1 {
            let texts = Self.repeatedTexts(of: sources)
            for source in sources {
                let digest = source.contentDigest
                for entry in PayloadFile.entries(
                    in: source.bytes, jsonLines: PayloadFile.isJSONLinesName(source.name) ? true : nil)
                {
                    try await replay(entry, of: source, digest: digest, texts: texts, into: &outcome)
                }
            }
        } else {
            // Three stages at once: the next batch is decoded while the processor processes the current one and
            // the ones before it commit (`stage(batch:)`, `complete(_:)`), up to `batchesInFlight` of them, completed
            // in the order they were staged.
            var reader = BatchReader(sources: sources, replayer: self)
            var clockIsSet = try await processor.clock() != nil
            var next = reader.next()
            var inFlight: [(batch: Batch, staged: HealthProcessor.StagedBatch)] = []
            while !next.lines.isEmpty {
                let batch = next
                let entries = self.entries(of: batch, clockIsSet: &clockIsSet)
                async let staging = processor.stage(batch: entries)
                next = reader.next()
                let staged = await staging
                var carried = inFlight.reduce(0) { $0 + $1.batch.checkStates }
                while let previous = inFlight.first,
                    inFlight.count >= max(batchesInFlight, 1) || carried > checkStatesInFlight
                {
                    inFlight.removeFirst()
                    carried -= previous.batch.checkStates
                    record(previous.batch, try await processor.complete(previous.staged), into: &outcome)
                }
                inFlight.append((batch, staged))
            }
            for previous in inFlight {
                record(previous.batch, try await processor.complete(previous.staged), into: &outcome)
            }
        }
        if let until {
            let sweep = try await processor.advance(to: until)
            outcome.add(sweep)
        }
        outcome.clock = try await processor.clock()
        return outcome
    }

    /// Reads the sources' lines in order and decodes them, a batch of up to ``envelopesPerCommit`` envelopes (with
    /// the rejected lines among them) at a time.
    private struct BatchReader {
        let sources: [Source]
        let replayer: Replayer
        var source = 0
        var digest = ""
        var entries: [PayloadFile.Entry] = []
        var entry = 0
        /// The size of the next batch: the pipeline starts with small batches, so that the first commit starts
        /// early, and grows them fourfold up to ``Replayer/envelopesPerCommit``.
        var limit: Int
        let texts: TextInterner

        init(sources: [Source], replayer: Replayer) {
            self.sources = sources
            self.replayer = replayer
            texts = Replayer.repeatedTexts(of: sources)
            limit = min(16, replayer.envelopesPerCommit)
        }

        /// The next batch; empty at the end.
        mutating func next() -> Batch {
            var batch = Batch()
            let limit = self.limit
            self.limit = min(limit * 4, max(replayer.envelopesPerCommit, 1))
            while batch.envelopes < limit {
                if entry == entries.count {
                    guard source < sources.count else { break }
                    let bytes = sources[source].bytes
                    digest = sources[source].contentDigest
                    entries = PayloadFile.entries(
                        in: bytes, jsonLines: PayloadFile.isJSONLinesName(sources[source].name) ? true : nil)
                    entry = 0
                    source += 1
                    continue
                }
                batch.append(replayer.decode(entries[entry], of: sources[source - 1], digest: digest, texts: texts))
                entry += 1
            }
            return batch
        }
    }

    /// The lines of consecutive envelopes to apply in one commit.
    private struct Batch: Sendable {
        /// Every line, decoded or rejected, in replay order.
        var lines: [Line] = []
        /// How many of ``lines`` are envelopes.
        var envelopes = 0
        /// How many check states their messages carry.
        var checkStates = 0

        mutating func append(_ line: Line) {
            if case .envelope(let envelope, _) = line.content {
                envelopes += 1
                checkStates += envelope.messages.reduce(0) { $0 + $1.checkStates.count }
            }
            lines.append(line)
        }
    }

    /// One line (or file) of a source: its envelope, or why it was rejected as a whole.
    private struct Line: Sendable {
        enum Content: Sendable {
            case envelope(Envelope, receipt: String)
            case rejected(PayloadError)
        }

        var file: String
        var line: Int
        var content: Content
    }

    /// The table of the texts a capture repeats (a snapshot's names, elements and messages come again in the next
    /// one), which a replay's decoding loop owns: a slot for every 64 bytes of the sources, 262,144 at most (4 MB of
    /// slots, up to 40 MB of texts of at most 128 bytes each), so that a fixture's replay in a test sets up no more
    /// than it can fill.
    private static func repeatedTexts(of sources: [Source]) -> TextInterner {
        let bytes = sources.reduce(0) { $0 + $1.bytes.count }
        return TextInterner(capacity: min(1 << 18, bytes / 64), longest: 128)
    }

    /// Decodes one entry of a source (a push report as its translation).
    private func decode(
        _ entry: PayloadFile.Entry, of source: Source, digest: String, texts: TextInterner
    ) -> Line {
        do {
            let envelope: Envelope
            if ReportLine.isReportLine(entry.bytes) {
                envelope = reports.envelope(for: try ReportLine.decode(entry.bytes))
            } else {
                envelope = try decoder.decode(entry.bytes, interning: texts)
            }
            return Line(
                file: source.name, line: entry.line,
                content: .envelope(envelope, receipt: "replay:\(digest):\(entry.line)"))
        } catch {
            return Line(file: source.name, line: entry.line + (error.line ?? 1) - 1, content: .rejected(error))
        }
    }

    /// The envelopes of `batch`, to apply in one commit.
    ///
    /// Each envelope is applied at its `collection_timestamp`, or else at the clock as the envelopes before it left
    /// it (``HealthProcessor/BatchEntry`` applies an entry never before the one before it, so `distantPast` stands
    /// for "at the clock"), or, before the clock was ever set (`clockIsSet`, which the first envelope sets), at
    /// ``fallbackClock``'s time. (A stored receipt implies a set clock: an envelope the replay skips as already
    /// applied never needs the fallback.)
    private func entries(of batch: Batch, clockIsSet: inout Bool) -> [HealthProcessor.BatchEntry] {
        var entries: [HealthProcessor.BatchEntry] = []
        entries.reserveCapacity(batch.envelopes)
        for line in batch.lines {
            guard case .envelope(let envelope, let receipt) = line.content else { continue }
            let time = envelope.collectionTimestamp ?? (clockIsSet ? .distantPast : fallbackClock.now)
            clockIsSet = true
            entries.append(HealthProcessor.BatchEntry(envelope, at: time, receipt: receipt))
        }
        return entries
    }

    /// Adds to `outcome`, line by line in order, what applying `batch` did.
    private func record(_ batch: Batch, _ results: [IntakeResult], into outcome: inout Outcome) {
        var next = results.makeIterator()
        for line in batch.lines {
            switch line.content {
            case .rejected(let error):
                outcome.envelopesRejected += 1
                outcome.rejections.append(Finding(file: line.file, line: line.line, error: error))
            case .envelope(let envelope, _):
                guard let result = next.next() else { preconditionFailure("a batch has one result per envelope") }
                add(result, of: envelope, file: line.file, line: line.line, to: &outcome)
            }
        }
    }

    /// Replays one entry on its own: ``HealthProcessor/apply(_:at:receivedAt:receipt:)``, one commit.
    private func replay(
        _ entry: PayloadFile.Entry,
        of source: Source,
        digest: String,
        texts: TextInterner,
        into outcome: inout Outcome
    ) async throws {
        let decoded = decode(entry, of: source, digest: digest, texts: texts)
        let envelope: Envelope
        let receipt: String
        switch decoded.content {
        case .rejected(let error):
            outcome.envelopesRejected += 1
            outcome.rejections.append(Finding(file: decoded.file, line: decoded.line, error: error))
            return
        case .envelope(let decodedEnvelope, let decodedReceipt):
            (envelope, receipt) = (decodedEnvelope, decodedReceipt)
        }
        let clock = try await processor.clock()
        let time = envelope.collectionTimestamp ?? clock ?? fallbackClock.now
        let result = try await processor.apply(envelope, at: time, receipt: receipt)
        add(result, of: envelope, file: source.name, line: entry.line, to: &outcome)
    }

    /// Adds what applying the envelope of `line` of `file` did to `outcome`.
    private func add(_ result: IntakeResult, of envelope: Envelope, file: String, line: Int, to outcome: inout Outcome)
    {
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
            outcome.rejections.append(Finding(file: file, line: line, error: rejection))
        }
        for warning in result.warnings {
            outcome.warnings.append(Finding(file: file, line: line, error: warning))
        }
        for message in envelope.messages {
            for case .invalid(_, let problem) in message.checkStates {
                outcome.warnings.append(Finding(file: file, line: line, error: problem))
            }
        }
    }
}
