/// How many check states an operation created, updated and deleted, and how many error records it opened.
public struct ChangeCounts: Sendable, Hashable {
    /// Check states created.
    public var created: Int
    /// Check states updated (an identical repeat is not an update).
    public var updated: Int
    /// Check states deleted, for any reason.
    public var deleted: Int
    /// Error records opened (a repeat of an open error only increments its count).
    public var errorsOpened: Int
    /// ``errorsOpened`` by error code; codes that opened nothing are absent.
    public var errorsOpenedByCode: [StreamErrorCode: Int]

    /// Creates counts.
    public init(
        created: Int = 0,
        updated: Int = 0,
        deleted: Int = 0,
        errorsOpened: Int = 0,
        errorsOpenedByCode: [StreamErrorCode: Int] = [:]
    ) {
        self.created = created
        self.updated = updated
        self.deleted = deleted
        self.errorsOpened = errorsOpened
        self.errorsOpenedByCode = errorsOpenedByCode
    }

    /// Adds two counts field by field.
    public static func + (lhs: ChangeCounts, rhs: ChangeCounts) -> ChangeCounts {
        ChangeCounts(
            created: lhs.created + rhs.created,
            updated: lhs.updated + rhs.updated,
            deleted: lhs.deleted + rhs.deleted,
            errorsOpened: lhs.errorsOpened + rhs.errorsOpened,
            errorsOpenedByCode: lhs.errorsOpenedByCode.merging(rhs.errorsOpenedByCode, uniquingKeysWith: +)
        )
    }

    /// Adds `rhs` to `lhs`.
    public static func += (lhs: inout ChangeCounts, rhs: ChangeCounts) { lhs = lhs + rhs }
}
