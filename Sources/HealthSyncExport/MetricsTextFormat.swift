import Foundation

/// The two text formats a Prometheus scrape takes: the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0.
///
/// Both share sample lines and label escaping; OpenMetrics ends with `# EOF` and writes timestamps in seconds
/// (the Prometheus format in milliseconds).
public enum MetricsTextFormat: Sendable, Hashable {
    /// `text/plain; version=0.0.4`.
    case prometheus
    /// `application/openmetrics-text; version=1.0.0`.
    case openMetrics

    /// The format an `Accept` header asks for: OpenMetrics when it lists `application/openmetrics-text` with a
    /// quality above 0 and not below that of any other type it lists; the Prometheus format otherwise (and without
    /// the header).
    ///
    /// Prometheus sends `application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`.
    public init(accept: String?) {
        self = .prometheus
        guard let accept else { return }
        var openMetrics: Double?
        var others = 0.0
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if type == "application/openmetrics-text" {
                openMetrics = max(openMetrics ?? 0, quality)
            } else {
                others = max(others, quality)
            }
        }
        if let openMetrics, openMetrics > 0, openMetrics >= others { self = .openMetrics }
    }

    /// The `Content-Type` of a response in this format.
    public var contentType: String {
        switch self {
        case .prometheus: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// A label value as both formats quote it: backslash, double quote and line feed escaped as `\\`, `\"` and
    /// `\n`; every other character, non-ASCII included, as is (UTF-8).
    public static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else { return value }
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count + 8)
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Appends the `# HELP` and `# TYPE` lines of a gauge family to `text`. The help text is escaped as the
    /// format escapes it (backslash and line feed; in OpenMetrics the double quote too).
    public func appendGaugeFamily(_ name: String, help: String, to text: inout String) {
        var escapedHelp = help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        if self == .openMetrics { escapedHelp = escapedHelp.replacingOccurrences(of: "\"", with: "\\\"") }
        text += "# HELP \(name) \(escapedHelp)\n# TYPE \(name) gauge\n"
    }

    /// Appends one sample line to `text`: `name{label="value",...} value[ timestamp]`.
    /// - Parameters:
    ///   - name: the metric name.
    ///   - labels: label names and values, in the order written; values are escaped here.
    ///   - value: the value.
    ///   - milliseconds: the sample's time in milliseconds since 1970, or `nil` for none (a scrape's samples have
    ///     none); written in seconds with three decimals in OpenMetrics, in milliseconds in the Prometheus format.
    public func appendSample(
        _ name: String,
        labels: KeyValuePairs<String, String>,
        value: Int64,
        milliseconds: Int64? = nil,
        to text: inout String
    ) {
        text += name
        text += "{"
        var first = true
        for (label, labelValue) in labels {
            if !first { text += "," }
            first = false
            text += label
            text += "=\""
            text += Self.escapeLabelValue(labelValue)
            text += "\""
        }
        text += "} "
        text += String(value)
        if let milliseconds {
            text += " "
            switch self {
            case .prometheus:
                text += String(milliseconds)
            case .openMetrics:
                text += Self.seconds(milliseconds)
            }
        }
        text += "\n"
    }

    /// `# EOF` and a line feed in OpenMetrics; nothing in the Prometheus format.
    public var end: String { self == .openMetrics ? "# EOF\n" : "" }

    /// Milliseconds as seconds with three decimals (`1700000000.250`, `-0.500`).
    static func seconds(_ milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let magnitude = milliseconds.magnitude
        let fraction = String(magnitude % 1000)
        return sign + String(magnitude / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
