import Foundation

/// A read of committed records that a ``WorkingSet`` has not staged: what the rules ask for instead of reading.
enum ReadRequest: Hashable, Sendable {
    /// A stream record with its open errors (the sub-stream of the key is not staged by it).
    case stream(urn: String)
    /// What ``HealthStore/streamContext(of:includingCheckStates:)`` reads: the stream with its errors and the
    /// sub-stream, optionally with every check state of the sub-stream.
    case context(ContextRequest)
    /// A sub-stream record of a stream already staged.
    case subStream(StreamKey)
    /// Check states of a staged sub-stream by id (``ReadCostPolicy`` may turn it into a read of all of them).
    case checkStates(StreamKey, ids: [String])
    /// Every check state of a staged sub-stream.
    case allCheckStates(StreamKey)
}

/// Thrown by a rule (and by the ``WorkingSet`` accessors it calls) that needs a record the working set has not
/// staged. The processor's shell makes the read and runs the rules again (``HealthProcessor/withReads(_:)``).
struct MissingRead: Error {
    /// The read to make.
    let request: ReadRequest

    init(_ request: ReadRequest) {
        self.request = request
    }
}

extension ContextRequest {
    /// A request for the stream and sub-stream of `key` without its check states.
    init(key: StreamKey) {
        self.init(key: key, includingCheckStates: false)
    }
}

/// When reading check states by id costs more than reading all of a sub-stream's check states.
///
/// When the ids to fetch are at least ``wholeReadMinimum`` and at least half of what the sub-stream stores (by its
/// counters: creates minus deletes), one range scan of the sub-stream costs less than a lookup per id, and a
/// snapshot diff later in the same working set needs every check state anyway. Either way the staged result is the
/// same: the policy changes the cost of a read, never what the rules see.
struct ReadCostPolicy: Sendable {
    /// The fewest ids to fetch for which reading the whole sub-stream may be the cheaper way.
    var wholeReadMinimum = 8

    /// The policy the processor uses.
    static let standard = ReadCostPolicy()

    /// Whether to read every check state of a sub-stream instead of `missing` ids of it, when it stores
    /// `stored` (creates minus deletes; `nil` when it is not stored).
    func readsWhole(missing: Int, stored: Int64?) -> Bool {
        guard missing >= wholeReadMinimum, let stored else { return false }
        return Int64(missing) * 2 >= stored
    }
}
