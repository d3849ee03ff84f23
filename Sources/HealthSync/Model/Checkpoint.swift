/// A TRANSACTIONAL_INCREMENTS checkpoint. Ordered by ``offset``, then ``batchIndex``; a missing batch index sorts
/// before any index of the same offset.
public struct Checkpoint: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The position in the source's log.
    public var offset: Int64
    /// The batch within the offset, if the source splits one offset into batches.
    public var batchIndex: Int64?

    /// Creates a checkpoint.
    public init(offset: Int64, batchIndex: Int64? = nil) {
        self.offset = offset
        self.batchIndex = batchIndex
    }

    /// The order described on the type.
    public static func < (lhs: Checkpoint, rhs: Checkpoint) -> Bool {
        if lhs.offset != rhs.offset { return lhs.offset < rhs.offset }
        switch (lhs.batchIndex, rhs.batchIndex) {
        case (nil, nil): return false
        case (nil, _): return true
        case (_, nil): return false
        case let (l?, r?): return l < r
        }
    }

    /// A readable rendering.
    public var description: String {
        if let batchIndex { return "offset \(offset), batch \(batchIndex)" }
        return "offset \(offset)"
    }
}
