import Foundation

/// The status of one stream (SPEC §6): its model, stream-level errors and the state of each sub-stream.
public struct StreamStatus: Sendable, Hashable {
    /// The status of one sub-stream.
    public struct SubStream: Sendable, Hashable {
        /// The stored record: intervals or checkpoint, open snapshot, last message time, deadlines, metrics.
        public var record: SubStreamRecord
        /// How many check states it holds.
        public var checkStateCount: Int
        /// Its open errors.
        public var errors: [ErrorRecord]

        /// Creates a sub-stream status.
        public init(record: SubStreamRecord, checkStateCount: Int, errors: [ErrorRecord]) {
            self.record = record
            self.checkStateCount = checkStateCount
            self.errors = errors
        }
    }

    /// The stream URN.
    public var urn: String
    /// The stream's model.
    public var consistencyModel: ConsistencyModel
    /// Stream-level errors.
    public var errors: [ErrorRecord]
    /// The sub-streams, main first.
    public var subStreams: [SubStream]

    /// Creates a status.
    public init(urn: String, consistencyModel: ConsistencyModel, errors: [ErrorRecord], subStreams: [SubStream]) {
        self.urn = urn
        self.consistencyModel = consistencyModel
        self.errors = errors
        self.subStreams = subStreams
    }
}

extension HealthStore {
    /// The status of a stream, or `nil` when there is no such stream.
    /// - Throws: ``StorageError``.
    public func status(of urn: String) async throws -> StreamStatus? {
        guard let stream = try await stream(urn) else { return nil }
        let errors = try await errors(of: urn)
        let records = try await subStreams(of: urn)
        var subStreams: [StreamStatus.SubStream] = []
        for record in records {
            let count = try await checkStates(of: record.key).count
            let own = errors.filter { !$0.key.streamLevel && $0.key.subStreamId == record.key.subStreamId }
            subStreams.append(StreamStatus.SubStream(record: record, checkStateCount: count, errors: own))
        }
        return StreamStatus(
            urn: urn,
            consistencyModel: stream.consistencyModel,
            errors: errors.filter(\.key.streamLevel),
            subStreams: subStreams
        )
    }
}
