/// The health of a check state, ordered from best to worst: `clear < deviating < critical`.
///
/// On the wire the value is case-insensitive (`Deviating` and `critical` are accepted); it is always stored and
/// written in upper case (``rawValue``).
public enum Health: String, Sendable, Hashable, CaseIterable, Comparable, Codable {
    /// Everything is fine (`CLEAR`).
    case clear = "CLEAR"
    /// Something is off but not failing (`DEVIATING`).
    case deviating = "DEVIATING"
    /// Failing (`CRITICAL`).
    case critical = "CRITICAL"

    /// Parses a wire value case-insensitively; `nil` for anything outside the three values.
    public init?(wireValue: String) {
        switch wireValue.uppercased() {
        case "CLEAR": self = .clear
        case "DEVIATING": self = .deviating
        case "CRITICAL": self = .critical
        default: return nil
        }
    }

    private var rank: Int {
        switch self {
        case .clear: 0
        case .deviating: 1
        case .critical: 2
        }
    }

    /// The order described on the type.
    public static func < (lhs: Health, rhs: Health) -> Bool { lhs.rank < rhs.rank }
}
