/// Text from remote sources made safe for a terminal, and measured as a terminal shows it.
///
/// Check-state names, messages and ids come from monitoring sources; printed raw, a tab breaks a table's columns and
/// an ANSI or OSC escape sequence recolours, retitles or rewrites the operator's terminal. Tables and reports pass
/// every value through ``escaped(_:)``; JSON output needs nothing (its encoder escapes control characters).
public enum TerminalText {
    /// `text` with every control character written out: C0 characters and DEL as `\t`, `\r` or `\u{1B}`, C1
    /// characters and the bidirectional overrides and isolates (which reorder what follows them on the line) as
    /// `\u{9B}`, `\u{202E}` and so on. Line breaks are kept (callers that need one line join the lines). A backslash
    /// is left as it is: a value can be told from an escape only by reading the JSON output.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if scalar == "\n" || !needsEscape(scalar) {
                result.unicodeScalars.append(scalar)
            } else if scalar == "\t" {
                result += "\\t"
            } else if scalar == "\r" {
                result += "\\r"
            } else {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return result
    }

    /// Whether a scalar is written out by ``escaped(_:)`` (a line feed is not).
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A: false
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// The columns `text` takes in a terminal: two for a wide (East Asian wide or fullwidth, or emoji) character,
    /// none for one made of combining marks and joiners only, one for any other.
    public static func width(_ text: String) -> Int {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text.utf8.count }
        return text.reduce(0) { $0 + width(of: $1) }
    }

    private static func width(of character: Character) -> Int {
        guard let first = character.unicodeScalars.first(where: { !isZeroWidth($0) }) else { return 0 }
        return isWide(first) ? 2 : 1
    }

    private static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: true
        default: scalar.value == 0x200B || (0xFE00...0xFE0F).contains(scalar.value)
        }
    }

    private static func isWide(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isEmojiPresentation { return true }
        return switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            true
        default: false
        }
    }
}
