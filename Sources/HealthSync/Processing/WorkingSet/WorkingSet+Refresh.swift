import Foundation

extension WorkingSet.SubStreamSlot {
    /// Refresh compaction: the refresh that writes the sub-stream's check states as one range update
    /// (``StoreChange/refreshedCheckStates``), when that equals saving each.
    ///
    /// It does when the sub-stream is stored and was not deleted here, every check state it stores is staged (those
    /// deleted aside), every staged one is saved at one time and snapshot sequence, and at least half of them (and
    /// two) only change those. A repeated snapshot that sends the same check states again then costs the store one
    /// statement instead of one row each; ``WorkingSet/makeChange(clock:receipt:)`` leaves out the rows the refresh
    /// covers, and only for a store that prefers it (``PipelinedHealthStore/prefersCheckStateRefreshes``).
    func refresh(of key: StreamKey) -> StoreChange.CheckStateRefresh? {
        guard original != nil, allLoaded, let saved = checkStates.uniformSave() else { return nil }
        guard saved.contentStored >= 2, saved.contentStored * 2 >= checkStates.count else { return nil }
        return StoreChange.CheckStateRefresh(
            key: key, lastSeenAt: saved.lastSeenAt, snapshotSequence: saved.sequence)
    }
}
