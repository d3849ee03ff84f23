import Foundation

/// Reading the fields of a push report (status reporter, metrics) from parsed JSON, each failure a
/// ``PayloadError`` with code ``PayloadError/Code/invalidReport``, the JSON path of the value and what was expected.
enum ReportJSON {
    /// The deepest nesting a report body may have, as for envelopes.
    static let maximumDepth = 64

    /// The top-level object of a report body.
    static func object(_ bytes: some Collection<UInt8>) throws(PayloadError) -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser(maximumDepth: maximumDepth).parse(bytes)
        } catch {
            throw PayloadError(
                code: .malformedJSON, path: "$", reason: error.reason, line: error.line, column: error.column)
        }
        guard case .object(let object) = value else {
            throw invalid("$", "must be a JSON object", value)
        }
        return object
    }

    /// An invalid-report error at `path`.
    static func invalid(_ path: String, _ reason: String, _ value: JSONValue? = nil) -> PayloadError {
        PayloadError(code: .invalidReport, path: path, reason: reason, value: value?.briefDescription)
    }

    /// A non-empty string.
    static func string(_ value: JSONValue, at path: String) throws(PayloadError) -> String {
        guard case .string(let text) = value, !text.isEmpty else {
            throw invalid(path, "must be a non-empty string", value)
        }
        return text
    }

    /// A finite number, given as a JSON number or a string holding one (`"0.42"`).
    static func number(_ value: JSONValue, at path: String) throws(PayloadError) -> Double {
        let number: Double?
        switch value {
        case .integer(let integer): number = Double(integer)
        case .double(let double): number = double
        case .string(let text): number = decimal(text)
        default: number = nil
        }
        guard let number, number.isFinite else {
            throw invalid(path, "must be a number or a string holding one", value)
        }
        return number
    }

    /// A decimal number in plain notation (`42`, `-0.5`, `1e3`); `nil` for anything else, `inf`, `nan` and
    /// hexadecimal included.
    static func decimal(_ text: String) -> Double? {
        let allowed = Set("0123456789+-.eE")
        guard !text.isEmpty, text.allSatisfy(allowed.contains), let value = Double(text), value.isFinite else {
            return nil
        }
        return value
    }

    /// A number in `range`, with the reason naming the range.
    static func number(
        _ value: JSONValue,
        at path: String,
        in range: ClosedRange<Double>,
        described: String
    ) throws(PayloadError) -> Double {
        let number = try number(value, at: path)
        guard range.contains(number) else { throw invalid(path, "must be \(described)", value) }
        return number
    }

    /// A number `≥ 0`.
    static func nonNegative(_ value: JSONValue, at path: String) throws(PayloadError) -> Double {
        let number = try number(value, at: path)
        guard number >= 0 else { throw invalid(path, "must be a number ≥ 0", value) }
        return number
    }

    /// A whole number in `range`.
    static func integer(
        _ value: JSONValue,
        at path: String,
        in range: ClosedRange<Int>,
        described: String
    ) throws(PayloadError) -> Int {
        let number = try number(value, at: path)
        guard number.rounded() == number, number >= Double(range.lowerBound), number <= Double(range.upperBound)
        else {
            throw invalid(path, "must be \(described)", value)
        }
        return Int(number)
    }

    /// A member that is JSON `null` counts as absent.
    static func member(_ object: JSONObject, _ key: String) -> JSONValue? {
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    /// The path of member `key` under `parent`: `$.interval`, `$.load.cpu`, `$.metrics["p99 ms"]`.
    static func path(_ parent: String, _ key: String) -> String {
        let plain = key.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_")
        }
        if plain, let first = key.unicodeScalars.first, !CharacterSet.decimalDigits.contains(first) {
            return "\(parent).\(key)"
        }
        let escaped = key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\(parent)[\"\(escaped)\"]"
    }

    /// Seconds as the messages print them: `60`, `0.5`.
    static func format(_ value: Double, decimals: Int? = nil) -> String {
        if let decimals { return String(format: "%.\(decimals)f", value) }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
