/// Aligned text columns under a header line: two spaces between columns, `-` for absent values, line breaks inside a
/// value shown as spaces, no trailing blanks. The audit's text report and the `healthsync` command's tables use it.
///
/// ```
/// URN                           MODEL             SUB-STREAMS  CHECK STATES
/// urn:health:sourceId:streamId  REPEAT_SNAPSHOTS  1            2
/// ```
public struct TextTable: Sendable {
    /// The column headers.
    public var headers: [String]
    /// The rows; each has one value per header, `nil` for absent.
    public var rows: [[String?]] = []

    /// Creates a table with these column headers.
    public init(headers: [String]) {
        self.headers = headers
    }

    /// Appends a row; `precondition`: one value per header.
    public mutating func append(_ row: [String?]) {
        precondition(row.count == headers.count, "a row needs one value per column")
        rows.append(row)
    }

    /// The table as lines joined by newlines, without a final newline.
    public func render() -> String {
        let cells = [headers] + rows.map { row in row.map { $0.map(Self.clean) ?? "-" } }
        let cellWidths = cells.map { $0.map(TerminalText.width) }
        var widths = headers.map { _ in 0 }
        for line in cellWidths {
            for (column, width) in line.enumerated() { widths[column] = max(widths[column], width) }
        }
        return zip(cells, cellWidths).map { line, lineWidths in
            var text = ""
            for (column, value) in line.enumerated() {
                if column > 0 { text += "  " }
                text += value
                if column < line.count - 1 {
                    text += String(repeating: " ", count: widths[column] - lineWidths[column])
                }
            }
            while text.last == " " { text.removeLast() }
            return text
        }.joined(separator: "\n")
    }

    /// One line, control characters written out (``TerminalText/escaped(_:)``); `-` for an empty value.
    private static func clean(_ value: String) -> String {
        value.isEmpty ? "-" : TerminalText.escaped(value.split(whereSeparator: \.isNewline).joined(separator: " "))
    }
}
