import Foundation

/// A committed receipt (an idempotency key) and the processor clock it was committed with, as
/// ``HealthStoreRetention/pruneReceipts(withPrefix:before:)`` reads it.
public struct StoredReceipt: Sendable, Hashable {
    /// The receipt: a replay's `replay:DIGEST:LINE`, an intake's `http:KEY`.
    public var receipt: String
    /// The clock of the commit that stored it, `nil` for a commit without one.
    public var clock: Date?

    /// Creates a stored receipt.
    public init(receipt: String, clock: Date?) {
        self.receipt = receipt
        self.clock = clock
    }
}

/// A part of a whole store's contents, as a copy reads them from its source and hands them to its destination
/// (``HealthStoreLoader/insert(_:)``) a page at a time: records exactly as stored, with their versions, deadlines,
/// open snapshots and the snapshot sequences of check states (the *seen set* of an open snapshot), events with their
/// sequences, and receipts with their clocks.
public struct StoreContents: Sendable {
    /// Streams, with their versions.
    public var streams: [StreamRecord] = []
    /// Sub-streams, with their versions; each one's stream is in this page or an earlier one.
    public var subStreams: [SubStreamRecord] = []
    /// Check states; each one's sub-stream is in this page or an earlier one.
    public var checkStates: [StoredCheckState] = []
    /// Open errors; each one's stream (and, for a sub-stream error, sub-stream) is in this page or an earlier one.
    public var errors: [ErrorRecord] = []
    /// Events, each with its ``HealthEvent/sequence``: no two events of a store share one.
    public var events: [HealthEvent] = []
    /// Receipts, with their clocks.
    public var receipts: [StoredReceipt] = []
    /// The processor clock; the destination keeps the latest it is given.
    public var clock: Date?

    /// Creates an empty page.
    public init() {}

    /// How many records the page holds (the clock not counted).
    public var count: Int {
        streams.count + subStreams.count + checkStates.count + errors.count + events.count + receipts.count
    }
}

/// Writes a copy into a store: the session of ``HealthStoreTransfer/load(_:)``, valid only while its body runs.
public protocol HealthStoreLoader: Sendable {
    /// Writes `contents` as they are, in the load's transaction: no version, deadline or sequence is changed, and
    /// no event is recorded for them. Records of one kind in later calls may refer to records of earlier calls.
    /// - Throws: ``StorageError``; the whole load then rolls back.
    func insert(_ contents: StoreContents) async throws
}

/// A ``HealthStore`` that a whole copy can be read from and written into: how a user moves a store from one database
/// to another (`healthsync copy`, from SQLite to PostgreSQL and back).
///
/// A copy reads its source through ``HealthStoreQueries`` and ``receipts(after:limit:)`` a page at a time, and writes
/// the destination in one ``load(_:)``: one transaction, so that the destination ends holding the whole copy or, when
/// anything fails, nothing. ``copy(from:pageSize:progress:)`` does both.
///
/// A capability of its own, without default implementations: a store either copies every record as stored or does
/// not adopt it. The shipped stores adopt it.
///
/// All methods throw ``StorageError``.
public protocol HealthStoreTransfer: HealthStoreQueries {
    /// Whether the store holds nothing: no stream, event or receipt, and no clock.
    func isEmpty() async throws -> Bool

    /// One page of the committed receipts: at most `limit` that sort after `receipt` (by UTF-8 bytes), in that order,
    /// so that a caller can walk every receipt holding only a page at a time.
    /// - Parameters:
    ///   - receipt: the last receipt of the previous page; `nil` for the first page.
    ///   - limit: the most receipts returned (at least 1).
    func receipts(after receipt: String?, limit: Int) async throws -> [StoredReceipt]

    /// Runs `body` with a loader whose ``HealthStoreLoader/insert(_:)`` writes into this store, all in one
    /// transaction that commits when `body` returns and rolls back when it throws: the store then holds nothing of
    /// the load. Nothing else writes the store meanwhile (a writer waits, or fails as it does on a busy store).
    ///
    /// After the load, the store's next event sequence follows the greatest it was given.
    /// - Throws: ``StorageError`` with ``StorageError/Code/conflict`` when the store is not empty as the transaction
    ///   begins (nothing is written), any failure of the writes, or what `body` throws.
    func load<T: Sendable>(_ body: (any HealthStoreLoader) async throws -> T) async throws -> T
}

/// How much a copy has written: what its progress reports and its end returns.
public struct TransferCounts: Sendable, Hashable {
    /// Streams copied.
    public var streams = 0
    /// Sub-streams copied.
    public var subStreams = 0
    /// Check states copied.
    public var checkStates = 0
    /// Open errors copied.
    public var errors = 0
    /// Events copied.
    public var events = 0
    /// Receipts (idempotency keys) copied.
    public var receipts = 0

    /// Creates counts, all zero unless given.
    public init(
        streams: Int = 0, subStreams: Int = 0, checkStates: Int = 0, errors: Int = 0, events: Int = 0,
        receipts: Int = 0
    ) {
        self.streams = streams
        self.subStreams = subStreams
        self.checkStates = checkStates
        self.errors = errors
        self.events = events
        self.receipts = receipts
    }

    /// Adds what `contents` holds.
    mutating func add(_ contents: StoreContents) {
        streams += contents.streams.count
        subStreams += contents.subStreams.count
        checkStates += contents.checkStates.count
        errors += contents.errors.count
        events += contents.events.count
        receipts += contents.receipts.count
    }
}

extension HealthStoreTransfer {
    /// The default page size of ``copy(from:pageSize:progress:)``: rows of one kind read and written at a time.
    public static var defaultCopyPageSize: Int { 5_000 }

    /// Copies the whole of `source` into this store, which must be empty, in one ``load(_:)``: streams, sub-streams
    /// (with open snapshots, deadlines, counters and versions), check states (with the snapshot sequences that make
    /// an open snapshot's seen set, and their liveness), open errors, events (with their sequences), receipts and the
    /// processor clock.
    ///
    /// The source is read a page at a time (check states, events and receipts; the stream list whole), so that a
    /// store of any size copies in bounded memory. The source must not be written during the copy (stop its writers
    /// first): its clock is read before and after, and a copy during which it moved fails and writes nothing.
    /// - Parameters:
    ///   - source: the store to copy; it is only read.
    ///   - pageSize: how many rows of one kind are read and written at a time (at least 1).
    ///   - progress: called after each page written, with the counts so far.
    /// - Returns: What was copied.
    /// - Throws: ``StorageError``: ``StorageError/Code/conflict`` when this store is not empty or the source changed
    ///   during the copy; any failure of either store. In every case this store holds nothing of the copy.
    @discardableResult
    public func copy(
        from source: any HealthStoreTransfer,
        pageSize: Int = defaultCopyPageSize,
        progress: @Sendable (TransferCounts) -> Void = { _ in }
    ) async throws -> TransferCounts {
        let pageSize = max(1, pageSize)
        let clock = try await source.clock()
        return try await load { loader in
            var counts = TransferCounts()
            func write(_ contents: StoreContents) async throws {
                guard contents.count > 0 || contents.clock != nil else { return }
                try await loader.insert(contents)
                counts.add(contents)
                progress(counts)
            }
            // Streams with their errors and sub-streams; their check states, events and receipts after them.
            let urns = try await source.streams().map(\.urn)
            var start = urns.startIndex
            while start < urns.endIndex {
                let end = min(start + max(1, pageSize / 10), urns.endIndex)
                let requests = urns[start..<end].map { ContextRequest(key: .main($0), includingCheckStates: false) }
                let read = try await source.batchContext(of: requests, due: nil)
                var page = StoreContents()
                for (request, context) in zip(requests, read.contexts) {
                    guard let stream = context.stream else {
                        throw changed("stream \(request.key.urn) was deleted")
                    }
                    page.streams.append(stream)
                    page.subStreams += try await source.subStreams(of: stream.urn)
                    page.errors += context.errors
                }
                try await write(page)
                start = end
            }
            var checkState: CheckStatePosition?
            while true {
                let states = try await source.checkStates(
                    urn: nil, subStreamId: nil, healths: nil, after: checkState, limit: pageSize)
                guard let last = states.last else { break }
                var page = StoreContents()
                page.checkStates = states
                try await write(page)
                checkState = CheckStatePosition(last)
            }
            var event: EventPosition?
            while true {
                let events = try await source.events(EventQuery(), after: event, limit: pageSize)
                guard let last = events.last else { break }
                var page = StoreContents()
                page.events = events
                try await write(page)
                event = EventPosition(last)
            }
            var receipt: String?
            while true {
                let receipts = try await source.receipts(after: receipt, limit: pageSize)
                guard let last = receipts.last else { break }
                var page = StoreContents()
                page.receipts = receipts
                try await write(page)
                receipt = last.receipt
            }
            var end = StoreContents()
            end.clock = clock
            try await write(end)
            let after = try await source.clock()
            guard after == clock else {
                throw changed(
                    "its clock moved from \(clock.map { "\($0.timeIntervalSince1970)" } ?? "none") to "
                        + "\(after.map { "\($0.timeIntervalSince1970)" } ?? "none")")
            }
            return counts
        }
    }

    /// The error of a source written during a copy.
    private func changed(_ what: String) -> StorageError {
        StorageError(
            code: .conflict,
            message: "the source was written during the copy (\(what)): stop its writers and copy again")
    }
}
