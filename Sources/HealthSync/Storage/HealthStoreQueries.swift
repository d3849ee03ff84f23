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

    /// Events matching `query`, oldest first (by time, then sequence).
    func events(_ query: EventQuery) async throws -> [HealthEvent]
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

    /// All current check states, sorted by URN, sub-stream, then id.
    /// - Throws: ``StorageError``.
    public func allCheckStates() async throws -> [StoredCheckState] {
        try await checkStates(urn: nil, subStreamId: nil)
    }
}
