import Foundation

extension HealthRules {
    /// Deletes a stream with all its sub-streams, check states and errors (SPEC §6), recording an event for each
    /// check state; `subStreams` are the keys of its stored sub-streams.
    /// - Returns: `false` when there is no such stream.
    func deleteStream(
        _ urn: String,
        subStreams: [StreamKey],
        in work: WorkingSet,
        at time: Date
    ) throws(MissingRead) -> Bool {
        guard try work.stream(urn) != nil else { return false }
        for key in subStreams {
            guard try work.subStream(key) != nil else { continue }
            for state in try work.allCheckStates(of: key) {
                work.record(
                    HealthEvent(
                        at: time, kind: .checkStateDeleted, urn: urn, subStreamId: key.subStreamId,
                        checkState: state.checkState, deletionReason: .streamDeleted
                    ))
            }
        }
        _ = work.closeAll(of: urn, at: time, because: "stream deleted")
        work.deleteStream(urn)
        work.record(HealthEvent(at: time, kind: .streamDeleted, urn: urn, subStreamId: ""))
        return true
    }

    /// Closes every open error of a stream, stream-level and of all its sub-streams (SPEC §6 clear errors).
    /// - Returns: how many error records were closed, or `nil` when there is no such stream.
    func clearErrors(of urn: String, in work: WorkingSet, at time: Date) throws(MissingRead) -> Int? {
        guard try work.stream(urn) != nil else { return nil }
        // Closing a sub-stream's error saves the sub-stream (its version guards the write): it must be staged.
        for error in work.openErrors(of: urn) where !error.key.streamLevel {
            _ = try work.subStream(StreamKey(urn: urn, subStreamId: error.key.subStreamId))
        }
        return work.closeAll(of: urn, at: time, because: "cleared")
    }
}
