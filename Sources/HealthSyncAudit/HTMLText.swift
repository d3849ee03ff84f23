/// A piece of HTML (or SVG) whose text is escaped by default.
///
/// The literal parts of a string written as `HTMLText` are markup; every `String` interpolated into it is text, and
/// is escaped (`&`, `<`, `>`, `"`, `'`), so that a check-state name, a URN or a message from a source can never
/// open a tag or close an attribute. Markup built elsewhere goes in only where it is named: interpolated as
/// `HTMLText`, or as `\(raw: fragment)` for trusted constants such as the style sheet.
///
/// ```swift
/// let cell: HTMLText = "<td title=\"\(state.name)\">\(state.checkStateId)</td>"   // both escaped
/// ```
struct HTMLText: ExpressibleByStringInterpolation, Sendable, Equatable {
    /// The markup.
    private(set) var markup: String

    /// Literal markup.
    init(stringLiteral markup: String) {
        self.markup = markup
    }

    init(stringInterpolation: Interpolation) {
        markup = stringInterpolation.markup
    }

    /// Text, escaped.
    init(text: String) {
        markup = Self.escape(text)
    }

    /// Markup given as it is: trusted constants only (the style sheet, the legend).
    init(raw markup: String) {
        self.markup = markup
    }

    static func + (lhs: HTMLText, rhs: HTMLText) -> HTMLText {
        HTMLText(raw: lhs.markup + rhs.markup)
    }

    static func += (lhs: inout HTMLText, rhs: HTMLText) {
        lhs.markup += rhs.markup
    }

    /// Builds an ``HTMLText`` from markup literals and escaped interpolations.
    struct Interpolation: StringInterpolationProtocol {
        var markup = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            markup.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        mutating func appendLiteral(_ literal: String) {
            markup += literal
        }

        /// Text: escaped.
        mutating func appendInterpolation(_ text: String) {
            markup += HTMLText.escape(text)
        }

        /// A number.
        mutating func appendInterpolation<Number: BinaryInteger>(_ number: Number) {
            markup += String(number)
        }

        /// Markup built as ``HTMLText``: as it is.
        mutating func appendInterpolation(_ html: HTMLText) {
            markup += html.markup
        }

        /// Trusted markup, named at the call: as it is.
        mutating func appendInterpolation(raw markup: String) {
            self.markup += markup
        }
    }

    /// Escapes text for HTML content and attribute values.
    private static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// Accumulates a document: markup with escaped interpolations (``append(_:)``), or plain text (``text(_:)``).
struct HTMLBuilder {
    private(set) var html = HTMLText(raw: "")

    /// The document so far.
    var document: String { html.markup }

    /// Appends markup whose interpolated strings are escaped.
    mutating func append(_ fragment: HTMLText) {
        html += fragment
    }

    /// Appends text, escaped.
    mutating func text(_ text: String) {
        html += HTMLText(text: text)
    }
}
