import Foundation

/// Health samples as InfluxDB 1.x line protocol: measurement `health`; tags `urn`, `sub_stream` (left out for
/// main), `check_state`, `element`; integer field `value` and string field `health`; nanosecond timestamps.
///
/// ```text
/// health,urn=urn:health:a:b,check_state=disk,element=host-1 value=2i,health="CRITICAL" 1700000000000000000
/// ```
///
/// A tag whose value is empty is left out (line protocol refuses empty tag values). Timestamps are precise to the
/// microsecond.
public enum InfluxLineProtocol {
    /// The measurement.
    public static let measurement = "health"

    /// A tag value as line protocol takes it: comma, equals sign and space escaped with a backslash. What InfluxDB
    /// 1.x cannot read back in a tag value is written so that it still parses: a line feed as the two characters
    /// `\n`, a carriage return as `\r`, and a trailing backslash followed by an escaped space (a backslash at the
    /// end would escape the separator after it). Other backslashes and non-ASCII characters are written as is.
    public static func escapeTagValue(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count + 4)
        for character in value.unicodeScalars {
            switch character {
            case ",": escaped += "\\,"
            case "=": escaped += "\\="
            case " ": escaped += "\\ "
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.unicodeScalars.append(character)
            }
        }
        // A backslash at the end would escape the separator after it: a written `\ ` (escaped space) follows it.
        if value.hasSuffix("\\") { escaped += "\\ " }
        return escaped
    }

    /// A string field value in double quotes, with backslash and double quote escaped by a backslash.
    public static func quoteFieldString(_ value: String) -> String {
        var quoted = "\""
        for character in value.unicodeScalars {
            switch character {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            default: quoted.unicodeScalars.append(character)
            }
        }
        return quoted + "\""
    }

    /// Nanoseconds since 1970 of `date`, rounded to the microsecond.
    public static func nanoseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) * 1000
    }

    /// The line of `sample` with its line feed.
    public static func line(_ sample: HealthSample) -> String {
        line(sample, nanoseconds: nanoseconds(sample.at))
    }

    /// The line of `sample` at `nanoseconds`, with its line feed.
    static func line(_ sample: HealthSample, nanoseconds: Int64) -> String {
        var line = measurement
        for (tag, value) in [
            ("urn", sample.series.urn), ("sub_stream", sample.series.subStreamId),
            ("check_state", sample.series.checkStateId), ("element", sample.series.element),
        ] where !value.isEmpty {
            line += ","
            line += tag
            line += "="
            line += escapeTagValue(value)
        }
        line += " value="
        line += String(sample.value)
        line += "i,health="
        line += quoteFieldString(sample.healthName)
        line += " "
        line += String(nanoseconds)
        line += "\n"
        return line
    }
}
