import ArgumentParser
import Foundation
import HealthSync

/// A TIME argument: epoch seconds, integer or fractional (`1548857167`, `1548857167.25`), or ISO-8601 with a
/// `Z` or numeric offset, with or without fractional seconds (`2019-01-30T14:06:07Z`,
/// `2019-01-30T15:06:07.5+01:00`), within the envelope's bounds: 0 (1970-01-01T00:00:00Z) to 253402300799
/// (9999-12-31T23:59:59Z).
///
/// Options declare it with `transform: TimeArgument.parse`, so that a bad value is reported with the reason
/// (``ParseError``): the accepted formats, or that the number looks like milliseconds or microseconds.
struct TimeArgument: ExpressibleByArgument, Sendable, Hashable {
    /// Why a TIME argument was refused; its description completes the parser's "The value … is invalid" message.
    struct ParseError: Error, CustomStringConvertible {
        /// The reason, in a sentence.
        var description: String
    }

    /// The earliest accepted time in epoch seconds, as for `collection_timestamp`.
    static let minimumSeconds: Double = 0
    /// The latest accepted time in epoch seconds, 9999-12-31T23:59:59Z, as for `collection_timestamp`.
    static let maximumSeconds = EnvelopeRules.latestTimestamp

    /// The accepted formats, for error messages and help.
    static let formats =
        "epoch seconds (1548857167, 1548857167.5) or ISO-8601 with Z or an offset "
        + "(2019-01-30T14:06:07Z, 2019-01-30T15:06:07.5+01:00)"

    /// The instant.
    var date: Date

    /// Wraps an instant.
    init(date: Date) {
        self.date = date
    }

    /// Parses `argument`; `nil` for anything ``parse(_:)`` refuses.
    init?(argument: String) {
        guard let time = try? Self.parse(argument) else { return nil }
        self = time
    }

    /// Parses a TIME argument.
    /// - Throws: ``ParseError`` naming the accepted formats for text that is not a time (exponents, hexadecimal,
    ///   `inf`, dates without a time), and the bounds for a time outside them, with the time in seconds when the
    ///   number looks like milliseconds or microseconds.
    static func parse(_ argument: String) throws -> TimeArgument {
        let seconds: Double
        if let epoch = epochSeconds(argument) {
            seconds = epoch
        } else if let date = try? Date(argument, strategy: Date.ISO8601FormatStyle()) {
            seconds = date.timeIntervalSince1970
        } else {
            throw ParseError(description: "expected \(formats)")
        }
        if (minimumSeconds...maximumSeconds).contains(seconds) {
            return TimeArgument(date: Date(timeIntervalSince1970: seconds))
        }
        let bounds =
            "a time must be from \(Int(minimumSeconds)) (1970-01-01T00:00:00Z) to \(Int(maximumSeconds)) "
            + "(9999-12-31T23:59:59Z)"
        for (unit, factor) in [("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)] {
            let scaled = (seconds / factor).rounded(.down)
            if seconds > maximumSeconds, scaled <= maximumSeconds {
                let date = Date(timeIntervalSince1970: scaled)
                throw ParseError(
                    description: "this looks like \(unit) since 1970; TIME is in seconds: "
                        + "\(Int(scaled)) is \(format(date)) (\(bounds))")
            }
        }
        throw ParseError(description: bounds)
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
