import Foundation
import HealthSyncTesting
import Testing

@testable import HealthSync

/// `PipelinedCommit.due(_:after:)`: which sub-streams read as due beside running commits stay due once those are
/// written.
@Suite struct PipelinedCommitTests {
    static let time = Date(timeIntervalSince1970: 1_700_000_000)
    static let x = StreamKey(urn: "urn:health:p:x", subStreamId: "")
    static let xOther = StreamKey(urn: "urn:health:p:x", subStreamId: "other")
    static let y = StreamKey(urn: "urn:health:p:y", subStreamId: "")

    /// A commit queued on a fresh in-memory store (whether it succeeds does not matter here).
    static func commit(_ change: StoreChange) -> PipelinedCommit {
        PipelinedCommit(
            committing: change, at: time, to: UnpipelinedHealthStore(InMemoryHealthStore()), after: nil, committed: {})
    }

    @Test func aSubStreamTheCommitSavesIsNoLongerDueAndTheOthersStay() {
        var change = StoreChange()
        change.savedSubStreams = [SubStreamRecord(key: Self.x, createdAt: Self.time, lastMessageAt: Self.time)]
        let pending = [Self.commit(change)]
        #expect(PipelinedCommit.due([Self.y, Self.x], after: pending) == [Self.y])
        #expect(PipelinedCommit.due([Self.x], after: pending) == [])
    }

    @Test func aSubStreamOfAStreamTheCommitChangesWithoutSavingItIsUnknown() {
        var saves = StoreChange()
        saves.savedSubStreams = [SubStreamRecord(key: Self.x, createdAt: Self.time, lastMessageAt: Self.time)]
        // The commit changes stream x, but not its sub-stream `other`: what it does to it is not known here.
        #expect(PipelinedCommit.due([Self.xOther], after: [Self.commit(saves)]) == nil)
        var deletes = StoreChange()
        deletes.deletedStreams = [StoreChange.StreamDeletion(urn: Self.x.urn, version: 1)]
        // A newer commit deletes the stream an older one saved the sub-stream of.
        #expect(PipelinedCommit.due([Self.x], after: [Self.commit(deletes), Self.commit(saves)]) == nil)
        #expect(PipelinedCommit.due([Self.y], after: [Self.commit(deletes)]) == [Self.y])
    }
}
