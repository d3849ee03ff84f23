/// A parsed JSON value.
///
/// Objects keep their members in document order (duplicate keys are kept; lookups return the last).
///
/// Equality is structural and exact: `.integer(1)` and `.double(1)` are different values, and two objects are equal
/// only when they have the same members in the same order.
enum JSONValue: Sendable, Equatable {
    /// The JSON literal `null`.
    case null
    /// The JSON literal `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits in Int64.
    case integer(Int64)
    /// Any other number (fraction, exponent, or an integer outside Int64).
    ///
    /// Non-finite results (1e999) are a parse error.
    case double(Double)
    /// A JSON string, with all escapes decoded.
    case string(String)
    /// A JSON array, in document order.
    case array([JSONValue])
    /// A JSON object, with its members in document order.
    case object(JSONObject)
}

/// The members of a JSON object, in document order.
///
/// Duplicate keys are kept as written; ``subscript(_:)`` returns the value of the last member with a given key, which
/// is what most JSON implementations do. Lookups are a linear scan, which is the fastest option for the small objects
/// that typical records consist of.
struct JSONObject: Sendable, Equatable {
    /// The members in document order, including any duplicate keys.
    var members: [(key: String, value: JSONValue)]

    /// Creates an object from its members, kept in the given order.
    init(_ members: [(key: String, value: JSONValue)]) {
        self.members = members
    }

    /// The value of the LAST member named `key`, or nil.
    subscript(key: String) -> JSONValue? {
        var index = members.endIndex
        while index > members.startIndex {
            index -= 1
            if members[index].key == key {
                return members[index].value
            }
        }
        return nil
    }

    /// The keys of all members in document order, including duplicates.
    var keys: [String] {
        members.map(\.key)
    }

    /// Two objects are equal when they have the same members (key and value) in the same order.
    static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else {
            return false
        }
        for (left, right) in zip(lhs.members, rhs.members) where left.key != right.key || left.value != right.value {
            return false
        }
        return true
    }
}

extension JSONValue {
    /// The JSON type of the value, for error messages: "null", "boolean", "number", "string", "array" or "object".
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The value rendered as compact JSON text, cut to at most 60 characters (ending in "…" when cut).
    ///
    /// Meant for quoting offending values in error messages; rendering stops as soon as the limit is reached, so this
    /// is cheap even for huge values. Non-finite doubles, which the parser never produces, render as `inf`, `-inf` or
    /// `nan`.
    var briefDescription: String {
        var renderer = JSONBriefRenderer(limit: 60)
        renderer.write(self)
        return renderer.result
    }
}

/// Renders compact JSON text, stopping once more than `limit` Unicode scalars have been written.
private struct JSONBriefRenderer {
    let limit: Int
    var text = ""
    var scalarCount = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// Whether more than `limit` scalars have been written (so the output will be cut).
    var isFull: Bool { scalarCount > limit }

    /// The rendered text, cut to `limit - 1` characters plus "…" when it is longer than `limit`.
    ///
    /// A character holds at least one scalar, so text of at most `limit` scalars never needs cutting.
    var result: String {
        isFull ? String(text.prefix(limit - 1)) + "…" : text
    }

    mutating func append(_ ascii: String) {
        text += ascii
        scalarCount += ascii.utf8.count
    }

    mutating func write(_ value: JSONValue) {
        guard !isFull else { return }
        switch value {
        case .null:
            append("null")
        case .bool(let bool):
            append(bool ? "true" : "false")
        case .integer(let integer):
            append(String(integer))
        case .double(let double):
            append(double.description)
        case .string(let string):
            write(string: string)
        case .array(let elements):
            append("[")
            for (position, element) in elements.enumerated() {
                guard !isFull else { return }
                if position > 0 {
                    append(",")
                }
                write(element)
            }
            append("]")
        case .object(let object):
            append("{")
            for (position, member) in object.members.enumerated() {
                guard !isFull else { return }
                if position > 0 {
                    append(",")
                }
                write(string: member.key)
                append(":")
                write(member.value)
            }
            append("}")
        }
    }

    mutating func write(string: String) {
        append("\"")
        for scalar in string.unicodeScalars {
            guard !isFull else { return }
            switch scalar {
            case "\"": append("\\\"")
            case "\\": append("\\\\")
            case "\n": append("\\n")
            case "\r": append("\\r")
            case "\t": append("\\t")
            case "\u{08}": append("\\b")
            case "\u{0C}": append("\\f")
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16, uppercase: true)
                append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default:
                text.unicodeScalars.append(scalar)
                scalarCount += 1
            }
        }
        append("\"")
    }
}
