import Dispatch
import Synchronization

/// One transaction that the processor fills in parts while the store writes them
/// (``PipelinedHealthStore/openCommitStream()``): a large envelope is processed in parts, and each part is written
/// while the next one is processed. Nothing is committed before ``finish()``; the parts are committed together or
/// not at all.
///
/// The processor sends each part with ``send(_:)`` and ends with ``finish()`` (commit, then wait) or ``abandon()``
/// (roll back). The store takes the parts with ``nextPart()`` on its writer's thread, which waits for them, and
/// reports the end with ``complete(_:)``. A stream must be finished or abandoned: until then the store's writer
/// waits for its next part.
public final class CommitStream: Sendable {
    /// Thrown by ``nextPart()`` when the processor abandoned the stream: the store rolls the transaction back.
    public static let abandoned = StorageError(
        code: .failed, message: "the commit stream was abandoned; nothing of it was written")

    private enum Item {
        case part(StoreChange)
        case end
        case abandon
    }

    private let items = Mutex<[Item]>([])
    private let available = DispatchSemaphore(value: 0)
    private let ticket = CommitTicket()

    /// A stream with no part yet.
    public init() {}

    // MARK: The processor's side

    /// Sends the next part, to be written in the stream's transaction after the parts sent before it.
    public func send(_ part: StoreChange) {
        put(.part(part))
    }

    /// Ends the stream and waits for the transaction to commit.
    /// - Throws: the ``StorageError`` that writing a part or committing failed with; nothing is then written.
    public func finish() async throws {
        put(.end)
        try await ticket.wait()
    }

    /// Ends the stream without committing: the store rolls back what it wrote of it.
    public func abandon() {
        put(.abandon)
    }

    // MARK: The store's side

    /// The next part to write, waiting for it, or `nil` once the processor finished the stream: then commit.
    /// - Throws: ``abandoned`` when the processor abandoned it: then roll back.
    public func nextPart() throws(StorageError) -> StoreChange? {
        available.wait()
        let item = items.withLock { $0.removeFirst() }
        switch item {
        case .part(let part): return part
        case .end: return nil
        case .abandon: throw Self.abandoned
        }
    }

    /// Reports how the transaction ended, which ``finish()`` returns or throws.
    public func complete(_ result: Result<Void, StorageError>) {
        ticket.finish(result)
    }

    private func put(_ item: Item) {
        items.withLock { $0.append(item) }
        available.signal()
    }
}
