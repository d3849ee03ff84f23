/// A strict RFC 8259 JSON parser working directly on UTF-8 bytes.
///
/// The parser accepts exactly one JSON value, optionally surrounded by whitespace and preceded by a UTF-8 byte order
/// mark. Everything RFC 8259 does not allow is rejected: comments, trailing commas, leading zeros, `NaN`/`Infinity`,
/// single-quoted strings, unescaped control characters, invalid escapes, unpaired UTF-16 surrogates, invalid UTF-8 and
/// numbers whose value is not finite. Errors carry the 1-based line and column and the 0-based byte offset of the
/// offending byte.
///
/// Nesting is handled with an explicit stack, so the parser itself never recurses; ``maximumDepth`` still bounds the
/// nesting because the resulting ``JSONValue`` is destroyed and compared recursively.
struct JSONParser: Sendable {
    /// The maximum number of arrays and objects that may be nested inside each other (default 64).
    ///
    /// A top-level array counts as depth 1. Opening a container beyond this depth is a parse error.
    var maximumDepth: Int

    /// Creates a parser that allows at most `maximumDepth` nested arrays and objects.
    init(maximumDepth: Int = 64) {
        self.maximumDepth = maximumDepth
    }

    /// Parses exactly one JSON value (surrounding whitespace allowed; anything else after it is an error).
    func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let depth = maximumDepth
        if let result = bytes.withContiguousStorageIfAvailable({ JSONParser.parse(buffer: $0, maximumDepth: depth) }) {
            return try result.get()
        }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { JSONParser.parse(buffer: $0, maximumDepth: depth) }.get()
    }

    private static func parse(
        buffer: UnsafeBufferPointer<UInt8>,
        maximumDepth: Int
    ) -> Result<JSONValue, JSONParseError> {
        var core = JSONParserCore(bytes: buffer, maximumDepth: max(0, maximumDepth))
        do throws(JSONParseError) {
            return .success(try core.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}

/// A JSON syntax error, with the position of the offending byte.
struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line of the error. Lines end at LF, CR LF or a lone CR.
    var line: Int
    /// The 1-based column of the error, counted in bytes of that line.
    var column: Int
    /// The 0-based byte offset of the error in the input (equal to the input length for "end of input" errors).
    var offset: Int
    /// What was expected and what was found, e.g. "expected ',' or '}' after an object member, found '{'".
    var reason: String

    /// Creates an error at the given position.
    init(line: Int, column: Int, offset: Int, reason: String) {
        self.line = line
        self.column = column
        self.offset = offset
        self.reason = reason
    }

    /// The position and reason, e.g. "line 26, column 5: expected ',' or '}' after an object member, found '{'".
    var description: String { "line \(line), column \(column): \(reason)" }
}

// MARK: - Implementation

/// One open array or object on the parser's explicit stack.
private struct JSONContainerFrame {
    /// Whether the container is an object (otherwise an array).
    var isObject: Bool
    /// Where the container's elements (or member values) start in the shared value stack.
    var valueStart: Int
    /// Where the container's member keys start in the shared key stack.
    var keyStart: Int
}

/// Where a value is expected, to phrase "expected a JSON value" errors.
private enum JSONValueContext {
    case topLevel
    case firstArrayElement
    case arrayElementAfterComma
    case memberValue
}

/// The parsing state for one document. All input access goes through `bytes` and `index`.
private struct JSONParserCore {
    let bytes: UnsafeBufferPointer<UInt8>
    let count: Int
    let maximumDepth: Int
    var index = 0
    /// Reused buffer for decoding strings that contain escapes.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.count = bytes.count
        self.maximumDepth = maximumDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            index = 3
        }
        let value = try parseValueTree()
        skipWhitespace()
        guard index == count else {
            throw error(at: index, "expected end of input after the JSON value, found \(found(at: index))")
        }
        return value
    }

    // MARK: Structure

    /// Parses one value, including nested containers, iteratively.
    mutating func parseValueTree() throws(JSONParseError) -> JSONValue {
        var frames: [JSONContainerFrame] = []
        var values: [JSONValue] = []
        var keys: [String] = []
        var context = JSONValueContext.topLevel

        while true {
            skipWhitespace()
            guard index < count else {
                throw expectedValue(context)
            }
            var value: JSONValue
            switch bytes[index] {
            case 0x5B:  // [
                try checkDepth(frames.count)
                index += 1
                skipWhitespace()
                if index < count && bytes[index] == 0x5D {  // ]
                    index += 1
                    value = .array([])
                } else {
                    frames.append(JSONContainerFrame(isObject: false, valueStart: values.count, keyStart: keys.count))
                    context = .firstArrayElement
                    continue
                }
            case 0x7B:  // {
                try checkDepth(frames.count)
                index += 1
                skipWhitespace()
                if index < count && bytes[index] == 0x7D {  // }
                    index += 1
                    value = .object(JSONObject([]))
                } else {
                    frames.append(JSONContainerFrame(isObject: true, valueStart: values.count, keyStart: keys.count))
                    keys.append(try parseMemberKey(expected: "a string key or '}' after '{'"))
                    context = .memberValue
                    continue
                }
            case 0x22:  // "
                value = .string(try parseString())
            case 0x74:  // t
                try parseLiteral("true")
                value = .bool(true)
            case 0x66:  // f
                try parseLiteral("false")
                value = .bool(false)
            case 0x6E:  // n
                try parseLiteral("null")
                value = .null
            case 0x2D, 0x30...0x39:  // - 0-9
                value = try parseNumber()
            default:
                throw expectedValue(context)
            }

            // A value is complete: attach it to the open containers, closing as many as the input closes.
            while let frame = frames.last {
                values.append(value)
                skipWhitespace()
                let byte: UInt8 = index < count ? bytes[index] : 0
                if frame.isObject {
                    if byte == 0x2C {  // ,
                        index += 1
                        skipWhitespace()
                        keys.append(try parseMemberKey(expected: "a string key after ',' in an object"))
                        context = .memberValue
                        break
                    } else if byte == 0x7D && index < count {  // }
                        index += 1
                        var members: [(key: String, value: JSONValue)] = []
                        members.reserveCapacity(values.count - frame.valueStart)
                        for (key, member) in zip(keys[frame.keyStart...], values[frame.valueStart...]) {
                            members.append((key, member))
                        }
                        keys.removeSubrange(frame.keyStart...)
                        values.removeSubrange(frame.valueStart...)
                        frames.removeLast()
                        value = .object(JSONObject(members))
                    } else {
                        throw error(
                            at: index, "expected ',' or '}' after an object member, found \(found(at: index))")
                    }
                } else {
                    if byte == 0x2C {  // ,
                        index += 1
                        context = .arrayElementAfterComma
                        break
                    } else if byte == 0x5D && index < count {  // ]
                        index += 1
                        let elements = Array(values[frame.valueStart...])
                        values.removeSubrange(frame.valueStart...)
                        frames.removeLast()
                        value = .array(elements)
                    } else {
                        throw error(
                            at: index, "expected ',' or ']' after an array element, found \(found(at: index))")
                    }
                }
            }
            if frames.isEmpty {
                return value
            }
        }
    }

    func checkDepth(_ depth: Int) throws(JSONParseError) {
        guard depth < maximumDepth else {
            throw error(
                at: index,
                "expected at most \(maximumDepth) levels of nesting, "
                    + "found \(found(at: index)) opening level \(depth + 1)")
        }
    }

    func expectedValue(_ context: JSONValueContext) -> JSONParseError {
        let expected =
            switch context {
            case .topLevel: "a JSON value"
            case .firstArrayElement: "a JSON value or ']' after '['"
            case .arrayElementAfterComma: "a JSON value after ',' in an array"
            case .memberValue: "a JSON value after ':'"
            }
        return error(at: index, "expected \(expected), found \(found(at: index))")
    }

    /// Parses `"key"` and the following `:`, leaving `index` after the colon. Whitespace before the key is skipped.
    mutating func parseMemberKey(expected: String) throws(JSONParseError) -> String {
        guard index < count && bytes[index] == 0x22 else {
            throw error(at: index, "expected \(expected), found \(found(at: index))")
        }
        let key = try parseString()
        skipWhitespace()
        guard index < count && bytes[index] == 0x3A else {  // :
            throw error(at: index, "expected ':' after an object key, found \(found(at: index))")
        }
        index += 1
        return key
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < count {
            let byte = bytes[index]
            guard byte <= 0x20, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    // MARK: Literals

    /// Parses `true`, `false` or `null`; `index` is at its first byte, which is known to match.
    mutating func parseLiteral(_ literal: StaticString) throws(JSONParseError) {
        let length = literal.utf8CodeUnitCount
        let expected = literal.utf8Start
        var position = index
        for offset in 0..<length {
            guard position < count && bytes[position] == expected[offset] else { break }
            position += 1
        }
        if position == index + length {
            index = position
            return
        }
        let missing = Character(Unicode.Scalar(expected[position - index]))
        throw error(at: position, "expected '\(missing)' to complete '\(literal)', found \(found(at: position))")
    }

    // MARK: Strings

    /// Parses a string; `index` is at the opening quote and ends up after the closing quote.
    mutating func parseString() throws(JSONParseError) -> String {
        let quote = index
        let start = index + 1
        let position = try endOfStringRun(from: start, quote: quote)
        if bytes[position] == 0x22 {  // "
            index = position + 1
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }
        return try parseEscapedString(quote: quote, runStart: start, escape: position)
    }

    /// Continues a string after its first escape, decoding into `scratch`.
    mutating func parseEscapedString(quote: Int, runStart: Int, escape: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var runStart = runStart
        var position = escape
        while true {
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
            if bytes[position] == 0x22 {  // "
                index = position + 1
                return String(decoding: scratch, as: UTF8.self)
            }
            runStart = try decodeEscape(at: position)
            position = try endOfStringRun(from: runStart, quote: quote)
        }
    }

    /// Returns the position of the next quote or backslash of a string at or after `position`, checking the UTF-8
    /// and the absence of control characters of the run before it.
    @inline(__always)
    func endOfStringRun(from position: Int, quote: Int) throws(JSONParseError) -> Int {
        var position = position
        while true {
            position = skipPlainASCII(from: position)
            guard position < count else {
                throw unterminatedString(startingAt: quote)
            }
            let byte = bytes[position]
            if byte == 0x22 || byte == 0x5C {  // " or \
                return position
            } else if byte < 0x20 {
                throw controlCharacterInString(at: position)
            } else if byte < 0x80 {
                position += 1
            } else {
                position += try utf8SequenceLength(at: position)
            }
        }
    }

    /// Returns the first position at or after `position` holding a quote, a backslash, a control character or a
    /// non-ASCII byte (or `count`), checking eight bytes at a time.
    @inline(__always)
    func skipPlainASCII(from position: Int) -> Int {
        var position = position
        guard let base = bytes.baseAddress else { return position }
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        while position + 8 <= count {
            let word = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
            let quotes = word ^ (ones &* 0x22)
            let backslashes = word ^ (ones &* 0x5C)
            // `x` has a zero byte iff ((x - 0x01…01) & ~x) has a high bit set; likewise `- 0x20…20` finds bytes < 0x20.
            let hasQuote = (quotes &- ones) & ~quotes
            let hasBackslash = (backslashes &- ones) & ~backslashes
            let hasControl = (word &- ones &* 0x20) & ~word
            if (hasQuote | hasBackslash | hasControl | word) & highBits != 0 {
                break
            }
            position += 8
        }
        while position < count {
            let byte = bytes[position]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 || byte >= 0x80 {
                break
            }
            position += 1
        }
        return position
    }

    /// Decodes the escape starting with the backslash at `position` into `scratch`; returns the position after it.
    mutating func decodeEscape(at position: Int) throws(JSONParseError) -> Int {
        let code = position + 1
        guard code < count else {
            throw error(at: code, "expected an escape character after '\\', found end of input")
        }
        switch bytes[code] {
        case 0x22, 0x5C, 0x2F:  // " \ /
            scratch.append(bytes[code])
        case 0x62:  // b
            scratch.append(0x08)
        case 0x66:  // f
            scratch.append(0x0C)
        case 0x6E:  // n
            scratch.append(0x0A)
        case 0x72:  // r
            scratch.append(0x0D)
        case 0x74:  // t
            scratch.append(0x09)
        case 0x75:  // u
            let unit = try hexQuad(at: code + 1)
            switch unit {
            case 0xD800...0xDBFF:
                let next = code + 5
                guard next + 1 < count && bytes[next] == 0x5C && bytes[next + 1] == 0x75 else {
                    throw error(
                        at: position,
                        "unpaired high surrogate '\\u\(hex4(unit))': expected a low surrogate escape "
                            + "('\\uDC00'-'\\uDFFF') after it, found \(found(at: next))")
                }
                let low = try hexQuad(at: next + 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error(
                        at: position,
                        "unpaired high surrogate '\\u\(hex4(unit))': expected a low surrogate escape "
                            + "('\\uDC00'-'\\uDFFF') after it, found '\\u\(hex4(low))'")
                }
                appendUTF8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                return next + 6
            case 0xDC00...0xDFFF:
                throw error(
                    at: position,
                    "unpaired low surrogate '\\u\(hex4(unit))': expected a high surrogate escape "
                        + "('\\uD800'-'\\uDBFF') before it")
            default:
                appendUTF8(unit)
            }
            return code + 5
        default:
            throw error(
                at: code,
                "expected '\"', '\\', '/', 'b', 'f', 'n', 'r', 't' or 'u' after '\\' in a string, "
                    + "found \(found(at: code))")
        }
        return code + 1
    }

    /// Reads the four hex digits of a `\u` escape starting at `position`.
    func hexQuad(at position: Int) throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for digitPosition in position..<position + 4 {
            let byte: UInt8 = digitPosition < count ? bytes[digitPosition] : 0
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default:
                throw error(
                    at: digitPosition, "expected 4 hex digits after '\\u', found \(found(at: digitPosition))")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// The length of the valid UTF-8 sequence whose lead byte (≥ 0x80) is at `position`.
    @inline(__always)
    func utf8SequenceLength(at position: Int) throws(JSONParseError) -> Int {
        if let length = validUTF8SequenceLength(at: position) {
            return length
        }
        throw invalidUTF8(at: position)
    }

    /// The length of the valid UTF-8 sequence whose lead byte (≥ 0x80) is at `position`, or nil if it is invalid
    /// (bad lead byte, bad or missing continuation byte, overlong form, surrogate, or beyond U+10FFFF).
    @inline(__always)
    func validUTF8SequenceLength(at position: Int) -> Int? {
        let lead = bytes[position]
        switch lead {
        case 0xC2...0xDF:
            guard position + 1 < count, bytes[position + 1] & 0xC0 == 0x80 else { return nil }
            return 2
        case 0xE0...0xEF:
            guard position + 2 < count else { return nil }
            let (low, high) = UTF8Ranges.second(after: lead)
            let second = bytes[position + 1]
            guard second >= low && second <= high && bytes[position + 2] & 0xC0 == 0x80 else { return nil }
            return 3
        case 0xF0...0xF4:
            guard position + 3 < count else { return nil }
            let (low, high) = UTF8Ranges.second(after: lead)
            let second = bytes[position + 1]
            guard second >= low && second <= high, bytes[position + 2] & 0xC0 == 0x80,
                bytes[position + 3] & 0xC0 == 0x80
            else { return nil }
            return 4
        default:
            return nil
        }
    }

    /// Describes the invalid UTF-8 sequence at `position`, pointing at the first byte that makes it invalid.
    func invalidUTF8(at position: Int) -> JSONParseError {
        let lead = bytes[position]
        let continuationCount: Int
        switch lead {
        case 0xC2...0xDF: continuationCount = 1
        case 0xE0...0xEF: continuationCount = 2
        case 0xF0...0xF4: continuationCount = 3
        default:
            return error(at: position, "invalid UTF-8 in string: byte \(hex2(lead)) cannot start a character")
        }
        for offset in 1...continuationCount {
            let next = position + offset
            let (low, high) = offset == 1 ? UTF8Ranges.second(after: lead) : (0x80, 0xBF)
            let foundText = next < count ? "byte \(hex2(bytes[next]))" : "end of input"
            if next >= count || bytes[next] < low || bytes[next] > high {
                return error(
                    at: next,
                    "invalid UTF-8 in string: expected a byte in \(hex2(low))-\(hex2(high)) to continue the character "
                        + "starting with \(hex2(lead)), found \(foundText)")
            }
        }
        return error(at: position, "invalid UTF-8 in string")  // Not reached for sequences rejected above.
    }

    func controlCharacterInString(at position: Int) -> JSONParseError {
        let code = bytes[position]
        let escape: String =
            switch code {
            case 0x08: "\\b"
            case 0x09: "\\t"
            case 0x0A: "\\n"
            case 0x0C: "\\f"
            case 0x0D: "\\r"
            default: "\\u\(hex4(UInt32(code)))"
            }
        return error(
            at: position,
            "expected a string character or '\"', found unescaped control character U+\(hex4(UInt32(code))) "
                + "(write it as '\(escape)')")
    }

    func unterminatedString(startingAt quote: Int) -> JSONParseError {
        let start = location(of: quote)
        return error(
            at: count,
            "expected '\"' to close the string that starts at line \(start.line), column \(start.column), "
                + "found end of input")
    }

    // MARK: Numbers

    /// Parses a number; `index` is at its first byte, which is '-' or a digit.
    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var position = index
        let isNegative = bytes[position] == 0x2D
        if isNegative {
            position += 1
            guard position < count && isDigit(bytes[position]) else {
                throw error(at: position, "expected a digit after '-', found \(found(at: position))")
            }
        }
        let integerStart = position
        if bytes[position] == 0x30 {
            position += 1
            if position < count && isDigit(bytes[position]) {
                throw error(
                    at: position,
                    "expected '.', 'e', 'E' or the end of the number after a leading '0', found \(found(at: position)) "
                        + "(leading zeros are not allowed)")
            }
        } else {
            while position < count && isDigit(bytes[position]) {
                position += 1
            }
        }
        let integerEnd = position

        var fractionStart = position
        var fractionEnd = position
        var isInteger = true
        if position < count && bytes[position] == 0x2E {  // .
            position += 1
            guard position < count && isDigit(bytes[position]) else {
                throw error(at: position, "expected a digit after '.' in a number, found \(found(at: position))")
            }
            fractionStart = position
            while position < count && isDigit(bytes[position]) {
                position += 1
            }
            fractionEnd = position
            isInteger = false
        }

        var exponent = 0
        if position < count && (bytes[position] | 0x20) == 0x65 {  // e E
            position += 1
            var exponentIsNegative = false
            if position < count && (bytes[position] == 0x2B || bytes[position] == 0x2D) {  // + -
                exponentIsNegative = bytes[position] == 0x2D
                position += 1
            }
            guard position < count && isDigit(bytes[position]) else {
                throw error(at: position, "expected a digit in the exponent, found \(found(at: position))")
            }
            while position < count && isDigit(bytes[position]) {
                if exponent < 1_000_000 {
                    exponent = exponent * 10 + Int(bytes[position] &- 0x30)
                }
                position += 1
            }
            if exponentIsNegative {
                exponent = -exponent
            }
            isInteger = false
        }
        index = position

        if isInteger, let integer = integerValue(digits: integerStart..<integerEnd, isNegative: isNegative) {
            return .integer(integer)
        }
        if let double = fastDouble(
            integerDigits: integerStart..<integerEnd, fractionDigits: fractionStart..<fractionEnd,
            exponent: exponent, isNegative: isNegative)
        {
            return .double(double)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else {
            let quoted = text.count > 40 ? String(text.prefix(39)) + "…" : text
            throw error(at: start, "expected a finite number, found '\(quoted)', which is out of range")
        }
        return .double(double)
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool {
        byte &- 0x30 < 10
    }

    /// The value of a digit run as Int64, or nil if it does not fit.
    func integerValue(digits: Range<Int>, isNegative: Bool) -> Int64? {
        if digits.count <= 18 {
            var value: Int64 = 0
            for position in digits {
                value = value &* 10 &+ Int64(bytes[position] &- 0x30)
            }
            return isNegative ? -value : value
        }
        var magnitude: UInt64 = 0
        for position in digits {
            let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = shifted.addingReportingOverflow(UInt64(bytes[position] &- 0x30))
            guard !overflow && !carry else { return nil }
            magnitude = sum
        }
        if isNegative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// Clinger's fast path: exact when the significand fits in 53 bits and the power of ten is exactly representable,
    /// so a single correctly rounded multiplication or division gives the correctly rounded result. Nil otherwise.
    func fastDouble(integerDigits: Range<Int>, fractionDigits: Range<Int>, exponent: Int, isNegative: Bool) -> Double? {
        var significand: UInt64 = 0
        var significantDigits = 0
        for position in integerDigits {
            let digit = UInt64(bytes[position] &- 0x30)
            if significantDigits > 0 || digit != 0 {
                significantDigits += 1
                significand = significand &* 10 &+ digit
            }
        }
        for position in fractionDigits {
            let digit = UInt64(bytes[position] &- 0x30)
            if significantDigits > 0 || digit != 0 {
                significantDigits += 1
                significand = significand &* 10 &+ digit
            }
        }
        if significand == 0 && significantDigits == 0 {
            return isNegative ? -0.0 : 0.0
        }
        let powerOfTen = exponent - fractionDigits.count
        guard significantDigits <= 19, significand <= 1 << 53, (-22...22).contains(powerOfTen) else {
            return nil
        }
        var value = Double(significand)
        if powerOfTen >= 0 {
            value *= exactPowersOfTen[powerOfTen]
        } else {
            value /= exactPowersOfTen[-powerOfTen]
        }
        return isNegative ? -value : value
    }

    // MARK: Errors

    /// Describes the byte at `position` for an error message: `'x'`, `'é' (U+00E9)`, a control character, a raw
    /// byte, or "end of input".
    func found(at position: Int) -> String {
        guard position < count else {
            return "end of input"
        }
        let byte = bytes[position]
        switch byte {
        case 0x27:
            return "\"'\""
        case 0x20...0x7E:
            return "'\(Character(Unicode.Scalar(byte)))'"
        case 0x00..<0x20, 0x7F:
            return "control character U+\(hex4(UInt32(byte)))"
        default:
            guard let length = validUTF8SequenceLength(at: position) else {
                return "byte \(hex2(byte))"
            }
            let sequence = UnsafeBufferPointer(rebasing: bytes[position..<position + length])
            let text = String(decoding: sequence, as: UTF8.self)
            let scalar = text.unicodeScalars.first?.value ?? 0
            return "'\(text)' (U+\(hex4(scalar)))"
        }
    }

    /// The 1-based line and column (in bytes) of `offset`.
    func location(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        var position = 0
        let end = min(offset, count)
        while position < end {
            let byte = bytes[position]
            if byte == 0x0A || (byte == 0x0D && (position + 1 >= count || bytes[position + 1] != 0x0A)) {
                line += 1
                lineStart = position + 1
            }
            position += 1
        }
        return (line, offset - lineStart + 1)
    }

    func error(at offset: Int, _ reason: String) -> JSONParseError {
        let (line, column) = location(of: offset)
        return JSONParseError(line: line, column: column, offset: offset, reason: reason)
    }
}

/// The allowed range of the second byte of a UTF-8 sequence, which excludes overlong forms, surrogates and code points
/// beyond U+10FFFF (Unicode Table 3-7).
private enum UTF8Ranges {
    @inline(__always)
    static func second(after lead: UInt8) -> (low: UInt8, high: UInt8) {
        switch lead {
        case 0xE0: (0xA0, 0xBF)
        case 0xED: (0x80, 0x9F)
        case 0xF0: (0x90, 0xBF)
        case 0xF4: (0x80, 0x8F)
        default: (0x80, 0xBF)
        }
    }
}

/// 10^0 through 10^22, all exactly representable as Double.
private let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

/// `0xAB` for a byte.
private func hex2(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return byte < 0x10 ? "0x0" + digits : "0x" + digits
}

/// Four uppercase hex digits, e.g. `00E9` or `D83D`.
private func hex4(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
