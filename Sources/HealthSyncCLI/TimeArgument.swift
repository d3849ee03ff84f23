import ArgumentParser
import Foundation

/// A TIME argument: epoch seconds, integer or fractional (`1548857167`, `1548857167.25`), or ISO-8601 with a
/// `Z` or numeric offset, with or without fractional seconds (`2019-01-30T14:06:07Z`,
/// `2019-01-30T15:06:07.5+01:00`).
struct TimeArgument: ExpressibleByArgument, Sendable, Hashable {
    /// The instant.
    var date: Date

    /// Wraps an instant.
    init(date: Date) {
        self.date = date
    }

    /// Parses `argument`; `nil` for anything else (exponents, hexadecimal, `inf`, dates without a time).
    init?(argument: String) {
        if let seconds = Self.epochSeconds(argument) {
            date = Date(timeIntervalSince1970: seconds)
        } else if let date = try? Date(argument, strategy: Date.ISO8601FormatStyle()) {
            self.date = date
        } else {
            return nil
        }
    }

    /// `[-]DIGITS[.DIGITS]`, as seconds; `Double(_:)` alone would also take `1e9`, `0x10` and `nan`.
    private static func epochSeconds(_ text: String) -> Double? {
        let unsigned = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        let parts = unsigned.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        guard let seconds = Double(text), seconds.isFinite else { return nil }
        return seconds
    }

    /// How tables write a time: ISO-8601 in UTC, with milliseconds only when there is a fraction.
    static func format(_ date: Date) -> String {
        let fractional = date.timeIntervalSince1970.rounded(.down) != date.timeIntervalSince1970
        return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: fractional))
    }
}
