/// A failure of a ``HealthStore``. Stores wrap their driver's errors in it; callers never see driver types.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Value: String, Sendable, Hashable {
            case conflict
            case duplicateReceipt
            case unavailable
            case readOnly
            case full
            case corrupt
            case failed
        }

        let value: Value

        /// Another writer changed a record since it was read. Nothing was written; reload and retry.
        public static let conflict = Code(value: .conflict)
        /// The change's receipt was committed before: the envelope was already applied. Nothing was written.
        public static let duplicateReceipt = Code(value: .duplicateReceipt)
        /// The database cannot be reached or opened.
        public static let unavailable = Code(value: .unavailable)
        /// The database is read-only.
        public static let readOnly = Code(value: .readOnly)
        /// The disk is full.
        public static let full = Code(value: .full)
        /// The database is damaged or not a HealthSync database.
        public static let corrupt = Code(value: .corrupt)
        /// Any other failure.
        public static let failed = Code(value: .failed)

        /// A readable rendering.
        public var description: String { value.rawValue }
    }

    /// What kind of failure.
    public var code: Code
    /// What failed, in words (the driver's message included).
    public var message: String

    /// Creates a storage error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// A readable rendering.
    public var description: String { "storage \(code): \(message)" }
}
