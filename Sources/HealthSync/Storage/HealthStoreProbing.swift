/// A store that can tell whether it is still fit to acknowledge into: its file is still the one at its path, its
/// contents look whole, and nothing that can be seen beforehand would fail (or crash) the next write.
///
/// A capability, not a requirement of ``HealthStore``: the HTTP intake and its readiness probe look for it with
/// `as? any HealthStoreProbing`, and a store without it (the in-memory store) is taken as always fit.
///
/// ```swift
/// if let probing = processor.store as? any HealthStoreProbing {
///     try probing.checkFile()  // before acknowledging an envelope
/// }
/// ```
public protocol HealthStoreProbing: Sendable {
    /// The cheap check, fit for every request: system calls on the file's path only (no read of its contents, no
    /// lock, no wait for the writer).
    /// - Throws: ``StorageError`` with code ``StorageError/Code/unavailable`` and a message saying what is wrong, such
    ///   as the file deleted or replaced under the open store.
    func checkFile() throws(StorageError)

    /// The periodic probe: ``checkFile()`` and a cheap look at the file's contents (such as its header against its
    /// size). It may wait for a commit in progress. A store may report a concurrent change by another process as a
    /// problem once: callers confirm a failure of the contents on the next probe.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/unavailable`` naming the problem.
    func probe() async throws(StorageError)
}
