/// Splits a payload file into envelopes: a file holds one JSON envelope (pretty-printed or not), or JSON Lines
/// (one envelope per line).
///
/// A file is read as JSON Lines when every non-blank line starts with `{` and ends with `}`; otherwise the whole
/// file is one envelope, so that a pretty-printed document, even a broken one, is reported as one envelope.
public enum PayloadFile {
    /// One envelope's bytes and the 1-based line it starts on.
    public struct Entry: Sendable, Hashable {
        /// The line the envelope starts on.
        public var line: Int
        /// The envelope's bytes.
        public var bytes: ArraySlice<UInt8>

        /// Creates an entry.
        public init(line: Int, bytes: ArraySlice<UInt8>) {
            self.line = line
            self.bytes = bytes
        }
    }

    /// The envelopes of a file, in file order. Blank lines of a JSON Lines file are skipped.
    public static func entries(in bytes: [UInt8]) -> [Entry] {
        var lines: [Entry] = []
        var lineNumber = 1
        var start = bytes.startIndex
        var isJSONLines = true
        func flush(upTo end: Int) {
            let trimmed = trim(bytes[start..<end])
            if !trimmed.isEmpty {
                if trimmed.first != UInt8(ascii: "{") || trimmed.last != UInt8(ascii: "}") { isJSONLines = false }
                lines.append(Entry(line: lineNumber, bytes: trimmed))
            }
        }
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            flush(upTo: index)
            if !isJSONLines { break }
            lineNumber += 1
            start = index + 1
        }
        if isJSONLines { flush(upTo: bytes.endIndex) }
        if isJSONLines { return lines }
        let whole = trim(bytes[...])
        return whole.isEmpty ? [] : [Entry(line: 1, bytes: bytes[...])]
    }

    private static func trim(_ slice: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = slice
        while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
        return slice
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// A stable 64-bit FNV-1a digest of the bytes, as 16 hex digits (identity, not security).
    public static func digest(_ bytes: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
