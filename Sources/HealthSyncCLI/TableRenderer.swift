/// Renders rows as aligned text columns under a header line: two spaces between columns, `-` for absent values,
/// line breaks inside a value shown as spaces, no trailing blanks.
///
/// ```
/// URN                           MODEL             SUB-STREAMS  CHECK STATES
/// urn:health:sourceId:streamId  REPEAT_SNAPSHOTS  1            2
/// ```
struct TableRenderer: Sendable {
    /// The column headers.
    var headers: [String]
    /// The rows; each has one value per header, `nil` for absent.
    var rows: [[String?]] = []

    /// Creates a table with these column headers.
    init(headers: [String]) {
        self.headers = headers
    }

    /// Appends a row; `precondition`: one value per header.
    mutating func append(_ row: [String?]) {
        precondition(row.count == headers.count, "a row needs one value per column")
        rows.append(row)
    }

    /// The table as lines joined by newlines, without a final newline.
    func render() -> String {
        let cells = [headers] + rows.map { row in row.map(Self.cell) }
        var widths = headers.map(\.count)
        for line in cells {
            for (column, value) in line.enumerated() { widths[column] = max(widths[column], value.count) }
        }
        return cells.map { line in
            var text = ""
            for (column, value) in line.enumerated() {
                if column > 0 { text += "  " }
                text += value
                if column < line.count - 1 { text += String(repeating: " ", count: widths[column] - value.count) }
            }
            while text.last == " " { text.removeLast() }
            return text
        }.joined(separator: "\n")
    }

    private static func cell(_ value: String?) -> String {
        guard let value, !value.isEmpty else { return "-" }
        return value.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline).joined(separator: " ")
    }
}
