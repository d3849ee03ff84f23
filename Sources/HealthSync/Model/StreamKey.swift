/// Identifies one sub-stream: a stream URN plus a sub-stream id, where the empty id is the main sub-stream.
public struct StreamKey: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The stream URN, by convention `urn:health:<sourceId>:<streamId>`.
    public var urn: String
    /// The sub-stream id; `""` is the main sub-stream.
    public var subStreamId: String

    /// Creates a key. An absent or empty sub-stream id means the main sub-stream.
    public init(urn: String, subStreamId: String? = nil) {
        self.urn = urn
        self.subStreamId = subStreamId ?? ""
    }

    /// The key of the main sub-stream of `urn`.
    public static func main(_ urn: String) -> StreamKey { StreamKey(urn: urn) }

    /// Whether this is the main sub-stream.
    public var isMain: Bool { subStreamId.isEmpty }

    /// The sub-stream id as the JSON contract writes it: `nil` for the main sub-stream.
    public var publicSubStreamId: String? { isMain ? nil : subStreamId }

    /// Sorts by URN, then the main sub-stream first, then by sub-stream id.
    public static func < (lhs: StreamKey, rhs: StreamKey) -> Bool {
        if lhs.urn != rhs.urn { return lhs.urn < rhs.urn }
        return lhs.subStreamId < rhs.subStreamId
    }

    /// A readable rendering.
    public var description: String { isMain ? urn : "\(urn) [\(subStreamId)]" }
}
