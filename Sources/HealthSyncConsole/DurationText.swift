import Foundation

/// Durations as operators type them: a number with a unit `s`, `m`, `h`, `d` or `w` (`90m`, `12h`, `30d`, `2w`,
/// `1.5d`); a bare number is seconds. `--retain-events`, `--late-grace` and the audit's text read and write them.
public enum DurationText {
    /// Parses a duration: a positive number followed by `s`, `m`, `h`, `d` or `w` (`90m`, `12h`, `30d`, `2w`,
    /// `1.5d`); a bare number is seconds. `nil` for anything else.
    public static func parse(_ text: String) -> TimeInterval? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let last = trimmed.last else { return nil }
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
        let unit = units[last]
        let number = unit == nil ? Substring(trimmed) : trimmed.dropLast()
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
            return nil
        }
        guard let value = Double(number), value > 0 else { return nil }
        let seconds = value * (unit ?? 1)
        return seconds.isFinite ? seconds : nil
    }

    /// A duration as ``parse(_:)`` reads it, in the largest unit that divides it: `30d`, `12h`, `90s`.
    public static func format(_ seconds: TimeInterval) -> String {
        for (unit, length) in [("w", 604_800.0), ("d", 86_400), ("h", 3_600), ("m", 60)]
        where seconds >= length && (seconds / length).rounded() == seconds / length {
            return "\(Int(seconds / length))\(unit)"
        }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(seconds)s"
    }
}
