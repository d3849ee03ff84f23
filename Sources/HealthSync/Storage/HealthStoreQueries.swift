import Foundation

/// The listings of a ``HealthStore`` that the HTTP status API, the CLI and the audit read: every stream, check
/// states across streams (whole or a page at a time) and events. The processor needs none of them.
///
/// A capability of its own, so that a store serving only the processor stays small; both shipped stores adopt it.
/// Listings are sorted by id as ``HealthStore`` says: by UTF-8 bytes.
///
/// All methods throw ``StorageError``.
public protocol HealthStoreQueries: HealthStore {
    /// All streams with their counts, sorted by URN.
    func streams() async throws -> [StreamSummary]

    /// Check states of any streams, sorted by URN, sub-stream (main first), then check-state id.
    /// - Parameters:
    ///   - urn: only this stream.
    ///   - subStreamId: only this sub-stream (`""` for main).
    func checkStates(urn: String?, subStreamId: String?) async throws -> [StoredCheckState]

    /// One page of ``checkStates(urn:subStreamId:)``: at most `limit` check states that sort after `position`, in
    /// the same order, so that a caller can walk every check state holding only a page at a time.
    ///
    /// A default implementation reads ``checkStates(urn:subStreamId:)`` and cuts the page from it, which is correct
    /// for every store; a store whose check states are not all in memory should answer from an index instead.
    /// - Parameters:
    ///   - urn: only this stream.
    ///   - subStreamId: only this sub-stream (`""` for main).
    ///   - healths: only these healths; `nil` for any.
    ///   - position: the last check state of the previous page; `nil` for the first page.
    ///   - limit: the most check states returned (at least 1).
    func checkStates(
        urn: String?,
        subStreamId: String?,
        healths: Set<Health>?,
        after position: CheckStatePosition?,
        limit: Int
    ) async throws -> [StoredCheckState]

    /// The open errors of every stream, sorted by URN, then as ``HealthStore/errors(of:)`` sorts them
    /// (``ErrorKey``): what `GET /metrics/health` lists. Open errors are few (at most one per code and sub-stream).
    ///
    /// A default implementation reads ``streams()`` and then the errors of each stream (``HealthStore/errors(of:)``),
    /// which is correct for every store; a store should answer in one read beside its writes instead.
    func openErrors() async throws -> [ErrorRecord]

    /// Events matching `query`, oldest first (by time, then sequence).
    func events(_ query: EventQuery) async throws -> [HealthEvent]

    /// One page of ``events(_:)``: at most `limit` events matching `query` (whose own ``EventQuery/limit`` is
    /// ignored) that sort after `position`, oldest first, so that a caller can walk a long event record holding only
    /// a page at a time, even through many events of one instant.
    ///
    /// A default implementation reads ``events(_:)`` from the position's time on, with a limit that grows while
    /// the events of that instant already read fill it, and cuts the page; it is correct for every store. A store
    /// that can seek to (time, sequence) in an index should answer from it instead.
    /// - Parameters:
    ///   - query: which events; its `limit` is ignored.
    ///   - position: the last event of the previous page; `nil` for the first page.
    ///   - limit: the most events returned (at least 1).
    func events(_ query: EventQuery, after position: EventPosition?, limit: Int) async throws -> [HealthEvent]
}

extension HealthStoreQueries {
    /// The default: ``checkStates(urn:subStreamId:)``, filtered and cut.
    /// - Throws: ``StorageError``.
    public func checkStates(
        urn: String?,
        subStreamId: String?,
        healths: Set<Health>?,
        after position: CheckStatePosition?,
        limit: Int
    ) async throws -> [StoredCheckState] {
        let states = try await checkStates(urn: urn, subStreamId: subStreamId)
        var page: [StoredCheckState] = []
        for state in states where healths?.contains(state.checkState.health) ?? true {
            if let position, CheckStatePosition(state) <= position { continue }
            page.append(state)
            if page.count >= max(1, limit) { break }
        }
        return page
    }

    /// The default: the errors of each of ``streams()``.
    /// - Throws: ``StorageError``.
    public func openErrors() async throws -> [ErrorRecord] {
        var errors: [ErrorRecord] = []
        for stream in try await streams() {
            errors += try await self.errors(of: stream.urn)
        }
        return errors
    }

    /// The default: ``events(_:)`` from the position's time on, cut after the position.
    /// - Throws: ``StorageError``.
    public func events(
        _ query: EventQuery,
        after position: EventPosition?,
        limit: Int
    ) async throws -> [HealthEvent] {
        let limit = max(1, limit)
        var query = query
        if let position, query.since.map({ $0 < position.at }) ?? true { query.since = position.at }
        // Events of the position's instant that were read already come first: read past them.
        var fetch = limit + 16
        while true {
            query.limit = fetch
            let read = try await self.events(query)
            let fresh = read.drop { event in position.map { EventPosition(event) <= $0 } ?? false }
            if fresh.count >= limit || read.count < fetch { return Array(fresh.prefix(limit)) }
            fetch *= 2
        }
    }

    /// All current check states, sorted by URN, sub-stream, then id.
    /// - Throws: ``StorageError``.
    public func allCheckStates() async throws -> [StoredCheckState] {
        try await checkStates(urn: nil, subStreamId: nil)
    }
}
