#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a payload file into envelopes: a file holds one JSON envelope (pretty-printed or not), or JSON Lines
/// (one envelope per line).
///
/// A file is read as JSON Lines when it is named so (`.jsonl`), or when it has more than one non-blank line and its
/// first non-blank line is a complete JSON value on its own. Otherwise the whole file is one envelope, so that a
/// pretty-printed document, even a broken one, is reported as one envelope with the line of its first problem.
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
    /// - Parameters:
    ///   - bytes: the file's content.
    ///   - jsonLines: `true` when the file is known to be JSON Lines (named `.jsonl`); `nil` to decide from the
    ///     content.
    public static func entries(in bytes: [UInt8], jsonLines: Bool? = nil) -> [Entry] {
        var lines: [Entry] = []
        var lineNumber = 1
        var start = bytes.startIndex
        for index in newlines(in: bytes) {
            let trimmed = trim(bytes[start..<index])
            if !trimmed.isEmpty { lines.append(Entry(line: lineNumber, bytes: trimmed)) }
            lineNumber += 1
            start = index + 1
        }
        let last = trim(bytes[start..<bytes.endIndex])
        if !last.isEmpty { lines.append(Entry(line: lineNumber, bytes: last)) }

        guard let first = lines.first else { return [] }
        let isJSONLines: Bool
        if let jsonLines {
            isJSONLines = jsonLines
        } else {
            isJSONLines = lines.count == 1 || (try? JSONParser().parse(first.bytes)) != nil
        }
        return isJSONLines ? lines : [Entry(line: 1, bytes: bytes[...])]
    }

    /// Whether a file name says JSON Lines (`.jsonl`, `.ndjson`).
    public static func isJSONLinesName(_ name: String) -> Bool {
        name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson")
    }

    /// The indices of the line feeds in `bytes`, found with `memchr`: a capture of hundreds of megabytes is split
    /// before its first envelope is decoded, and a byte-at-a-time loop made that a visible part of a replay.
    private static func newlines(in bytes: [UInt8]) -> [Int] {
        bytes.withUnsafeBufferPointer { buffer -> [Int] in
            guard let base = buffer.baseAddress else { return [] }
            var found: [Int] = []
            var offset = 0
            while offset < buffer.count, let hit = memchr(base + offset, 0x0A, buffer.count - offset) {
                let index = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                found.append(index)
                offset = index + 1
            }
            return found
        }
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
        var digest = Digest()
        digest.update(bytes)
        return digest.hex
    }

    /// ``PayloadFile/digest(_:)`` fed in parts: the bytes given in order, in any number of ``update(_:)`` calls,
    /// make the same digest as one call on all of them. A reader can digest a file's parts as they arrive, beside
    /// the reads (the command line does, for `replay`), and hand the result to ``Replayer/Source/digest``.
    public struct Digest: Sendable {
        private var hash: UInt64 = 0xcbf2_9ce4_8422_2325

        /// The digest of no bytes.
        public init() {}

        /// Feeds the next bytes.
        public mutating func update(_ bytes: some Sequence<UInt8>) {
            // Contiguous bytes (an array, a buffer) take the loop over raw memory; others one byte at a time.
            let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
            guard done == nil else { return }
            var hash = self.hash
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            self.hash = hash
        }

        /// Feeds the next bytes from memory.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            var hash = self.hash
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            self.hash = hash
        }

        /// The digest of the bytes fed so far, as 16 hex digits.
        public var hex: String {
            let hex = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
    }
}
