/// A piece of HTML (or SVG) whose text is escaped by default.
///
/// Shared by the audit's HTML report and the HTTP status page and badge (module `HealthSyncHTML`, package access).
///
/// The literal parts of a string written as `HTMLText` are markup; every `String` interpolated into it is text, and
/// is escaped (`&`, `<`, `>`, `"`, `'`), so that a check-state name, a URN or a message from a source can never
/// open a tag or close an attribute. Markup built elsewhere goes in only where it is named: interpolated as
/// `HTMLText`, or as `\(raw: fragment)` for trusted constants such as the style sheet.
///
/// ```swift
/// let cell: HTMLText = "<td title=\"\(state.name)\">\(state.checkStateId)</td>"   // both escaped
/// ```
package struct HTMLText: ExpressibleByStringInterpolation, Sendable, Equatable {
    /// The markup.
    package private(set) var markup: String

    /// Literal markup.
    package init(stringLiteral markup: String) {
        self.markup = markup
    }

    package init(stringInterpolation: Interpolation) {
        markup = stringInterpolation.markup
    }

    /// Text, escaped.
    package init(text: String) {
        markup = Self.escape(text)
    }

    /// Markup given as it is: trusted constants only (the style sheet, the legend).
    package init(raw markup: String) {
        self.markup = markup
    }

    package static func + (lhs: HTMLText, rhs: HTMLText) -> HTMLText {
        HTMLText(raw: lhs.markup + rhs.markup)
    }

    package static func += (lhs: inout HTMLText, rhs: HTMLText) {
        lhs.markup += rhs.markup
    }

    /// Builds an ``HTMLText`` from markup literals and escaped interpolations.
    package struct Interpolation: StringInterpolationProtocol {
        package var markup = ""

        package init(literalCapacity: Int, interpolationCount: Int) {
            markup.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        package mutating func appendLiteral(_ literal: String) {
            markup += literal
        }

        /// Text: escaped.
        package mutating func appendInterpolation(_ text: String) {
            markup += HTMLText.escape(text)
        }

        /// A number.
        package mutating func appendInterpolation<Number: BinaryInteger>(_ number: Number) {
            markup += String(number)
        }

        /// Markup built as ``HTMLText``: as it is.
        package mutating func appendInterpolation(_ html: HTMLText) {
            markup += html.markup
        }

        /// Trusted markup, named at the call: as it is.
        package mutating func appendInterpolation(raw markup: String) {
            self.markup += markup
        }
    }

    /// Escapes text for HTML content and attribute values.
    package static func escape(_ text: String) -> String {
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
package struct HTMLBuilder {
    package private(set) var html = HTMLText(raw: "")

    /// An empty document.
    package init() {}

    /// The document so far.
    package var document: String { html.markup }

    /// Appends markup whose interpolated strings are escaped.
    package mutating func append(_ fragment: HTMLText) {
        html += fragment
    }

    /// Appends text, escaped.
    package mutating func text(_ text: String) {
        html += HTMLText(text: text)
    }
}
