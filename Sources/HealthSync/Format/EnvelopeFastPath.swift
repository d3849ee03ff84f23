import Foundation

extension EnvelopeDecoder {
    /// The common envelope decoded straight from its bytes, without building a ``JSONValue`` tree: or `nil` when
    /// anything about it is unusual, and the full decoder must decode it (and name what is wrong, and where).
    ///
    /// It takes only what it can decode exactly as the full decoder does: valid JSON without string escapes,
    /// fractions, exponents or deep nesting; REPEAT_SNAPSHOTS and REPEAT_STATES messages (no increments) whose every
    /// field and check state is valid; no duplicate keys it reads; in strict mode, no unknown keys. For such an
    /// envelope the result equals the full decoder's (`EnvelopeFastPathTests` compares the two on every fixture and on
    /// generated and mutated envelopes); everything else returns `nil`, at the cost of the bytes read so far.
    func decodeCommonEnvelope(_ bytes: UnsafeRawBufferPointer, interning texts: TextInterner? = nil) -> Envelope? {
        var reader = FastReader(
            bytes: bytes, strict: configuration.strict, limit: configuration.maximumIntervalSeconds, texts: texts)
        return reader.envelope()
    }
}

/// A cursor over an envelope's bytes for ``EnvelopeDecoder/decodeCommonEnvelope(_:)``; every method returns `nil`
/// (or `false`) as soon as the input leaves the common case.
private struct FastReader {
    let bytes: UnsafeRawBufferPointer
    let strict: Bool
    let limit: Int
    /// Where the texts repeated across envelopes are kept (a replay's decoder), or `nil`.
    let texts: TextInterner?
    var index = 0

    init(bytes: UnsafeRawBufferPointer, strict: Bool, limit: Int, texts: TextInterner?) {
        self.bytes = bytes
        self.strict = strict
        self.limit = limit
        self.texts = texts
    }

    // MARK: Envelope

    mutating func envelope() -> Envelope? {
        var timestamp: Date?
        var hostname: String?
        var messages: [HealthMessage]?
        var seen = 0
        let complete = object { reader, key in
            switch true {
            case key.is("collection_timestamp"):
                guard reader.firstTime(of: 1, in: &seen) else { return false }
                if reader.null() { return true }
                guard let seconds = reader.integer(), EnvelopeRules.isValidTimestamp(Double(seconds)) else {
                    return false
                }
                timestamp = Date(timeIntervalSince1970: Double(seconds))
                return true
            case key.is("internalHostname"):
                guard reader.firstTime(of: 2, in: &seen) else { return false }
                if reader.null() { return true }
                guard let name = reader.string() else { return false }
                hostname = name
                return true
            case key.is("health"):
                guard reader.firstTime(of: 4, in: &seen) else { return false }
                if reader.null() { return true }
                messages = reader.messages()
                return messages != nil
            default:
                guard !reader.strict || EnvelopeRules.envelopeKeys.contains(key.text) else { return false }
                return reader.skipValue(depth: 1)
            }
        }
        guard complete else { return nil }
        skipWhitespace()
        guard index == bytes.count else { return nil }
        return Envelope(
            collectionTimestamp: timestamp, internalHostname: hostname, messages: messages ?? [], rejections: [],
            warnings: [])
    }

    /// Records that the key numbered `bit` was read; `false` when it was read before (a duplicate key).
    func firstTime(of bit: Int, in seen: inout Int) -> Bool {
        guard seen & bit == 0 else { return false }
        seen |= bit
        return true
    }

    // MARK: Messages

    mutating func messages() -> [HealthMessage]? {
        var messages: [HealthMessage] = []
        let complete = array { reader in
            guard let message = reader.message(at: messages.count) else { return false }
            messages.append(message)
            return true
        }
        return complete ? messages : nil
    }

    mutating func message(at position: Int) -> HealthMessage? {
        var stream: StreamKey?
        var model = ConsistencyModel.repeatSnapshots
        var start: Intervals?
        var stop = false
        var expiry: Intervals?
        var checkStates: [CheckStateInput] = []
        var seen = 0
        let complete = object { reader, key in
            switch true {
            case key.is("stream"):
                guard reader.firstTime(of: 1, in: &seen) else { return false }
                stream = reader.streamKey()
                return stream != nil
            case key.is("consistency_model"):
                guard reader.firstTime(of: 2, in: &seen) else { return false }
                if reader.null() { return true }
                guard let name = reader.string(), let parsed = ConsistencyModel(rawValue: name.uppercased()),
                    parsed != .transactionalIncrements
                else { return false }
                model = parsed
                return true
            case key.is("start_snapshot"):
                guard reader.firstTime(of: 4, in: &seen) else { return false }
                if reader.null() { return true }
                start = reader.intervals()
                return start != nil
            case key.is("stop_snapshot"):
                guard reader.firstTime(of: 8, in: &seen) else { return false }
                if reader.null() { return true }
                stop = true
                return reader.object { _, _ in false }
            case key.is("expiry"):
                guard reader.firstTime(of: 16, in: &seen) else { return false }
                if reader.null() { return true }
                expiry = reader.intervals()
                return expiry != nil
            case key.is("check_states"):
                guard reader.firstTime(of: 32, in: &seen) else { return false }
                if reader.null() { return true }
                return reader.array { reader in
                    guard let checkState = reader.checkState() else { return false }
                    checkStates.append(.upsert(checkState))
                    return true
                }
            case key.is("increment"):
                return false
            default:
                return !reader.strict && reader.skipValue(depth: 3)
            }
        }
        guard complete, let stream else { return nil }
        var message = HealthMessage(stream: stream, consistencyModel: model, path: "health[\(position)]")
        switch model {
        case .repeatSnapshots:
            if let start, EnvelopeRules.lacksRequiredExpiry(start, of: stream, strict: strict) { return nil }
            message.startSnapshot = start
            message.stopSnapshot = stop
        case .repeatStates:
            message.expiry = expiry
        case .transactionalIncrements:
            return nil
        }
        message.checkStates = EnvelopeDecoder.lastOccurrences(checkStates)
        return message
    }

    mutating func streamKey() -> StreamKey? {
        var urn: String?
        var subStreamId: String?
        var seen = 0
        let complete = object { reader, key in
            switch true {
            case key.is("urn"):
                guard reader.firstTime(of: 1, in: &seen), let text = reader.text(), EnvelopeRules.isValidURN(text)
                else { return false }
                urn = text
                return true
            case key.is("sub_stream_id"):
                guard reader.firstTime(of: 2, in: &seen) else { return false }
                if reader.null() { return true }
                guard let text = reader.string(), EnvelopeRules.isValidSubStreamId(text) else { return false }
                subStreamId = text
                return true
            default:
                return !reader.strict && reader.skipValue(depth: 4)
            }
        }
        guard complete, let urn else { return nil }
        return StreamKey(urn: urn, subStreamId: subStreamId)
    }

    mutating func intervals() -> Intervals? {
        var repeatInterval: Int?
        var expiryInterval = 0
        var seen = 0
        let complete = object { reader, key in
            switch true {
            case key.is("repeat_interval_s"):
                guard reader.firstTime(of: 1, in: &seen), let seconds = reader.integer(),
                    EnvelopeRules.isValidRepeatInterval(seconds, limit: reader.limit)
                else { return false }
                repeatInterval = seconds
                return true
            case key.is("expiry_interval_s"):
                guard reader.firstTime(of: 2, in: &seen) else { return false }
                if reader.null() { return true }
                guard let seconds = reader.integer(), EnvelopeRules.isValidInterval(seconds, limit: reader.limit) else {
                    return false
                }
                expiryInterval = seconds
                return true
            default:
                return !reader.strict && reader.skipValue(depth: 4)
            }
        }
        guard complete, let repeatInterval else { return nil }
        return Intervals(repeatInterval: repeatInterval, expiryInterval: expiryInterval)
    }

    mutating func checkState() -> CheckState? {
        var id: String?
        var name: String?
        var health: Health?
        var element: String?
        var message: String?
        var seen = 0
        let complete = object { reader, key in
            switch true {
            case key.is("checkStateId"):
                guard reader.firstTime(of: 1, in: &seen), let text = reader.string(), !text.isEmpty,
                    EnvelopeRules.textProblem(text, .identifier) == nil
                else { return false }
                id = text
            case key.is("name"):
                guard reader.firstTime(of: 2, in: &seen), let text = reader.text(),
                    EnvelopeRules.textProblem(text, .name) == nil
                else { return false }
                name = text
            case key.is("health"):
                guard reader.firstTime(of: 4, in: &seen), let parsed = reader.health() else { return false }
                health = parsed
            case key.is("topologyElementIdentifier"):
                guard reader.firstTime(of: 8, in: &seen), let text = reader.text(), !text.isEmpty,
                    EnvelopeRules.textProblem(text, .identifier) == nil
                else { return false }
                element = text
            case key.is("message"):
                guard reader.firstTime(of: 16, in: &seen) else { return false }
                if reader.null() { return true }
                guard let text = reader.text(), EnvelopeRules.textProblem(text, .message) == nil else {
                    return false
                }
                message = text
            default:
                // `delete` is read only in TRANSACTIONAL_INCREMENTS messages, which this path leaves to the full one.
                guard !reader.strict || key.is("delete") else { return false }
                return reader.skipValue(depth: 5)
            }
            return true
        }
        guard complete, let id, let name, let health, let element else { return nil }
        return CheckState(
            checkStateId: id, name: name, health: health, topologyElementIdentifier: element, message: message)
    }

    // MARK: JSON

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Consumes `byte` (after whitespace); `false` when the next byte is another one.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A member's key, as its bytes (no string is made for the keys that are matched).
    struct Key {
        let bytes: UnsafeRawBufferPointer

        /// Whether the key is `name` (ASCII).
        func `is`(_ name: StaticString) -> Bool {
            guard bytes.count == name.utf8CodeUnitCount, let base = bytes.baseAddress else {
                return bytes.isEmpty && name.utf8CodeUnitCount == 0
            }
            return memcmp(base, name.utf8Start, bytes.count) == 0
        }

        /// The key as a string (escapes and invalid UTF-8 were refused when it was read).
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Reads a string without escapes or control characters, as its bytes and whether they are all ASCII (the
    /// UTF-8 of other bytes is not checked yet).
    mutating func rawString() -> (bytes: UnsafeRawBufferPointer, ascii: Bool)? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return (text, ascii)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        return nil
    }

    /// Reads a key: a string without escapes or control characters, of valid UTF-8.
    mutating func key() -> Key? {
        guard let (text, ascii) = rawString(), ascii || String(validating: text, as: UTF8.self) != nil else {
            return nil
        }
        return Key(bytes: text)
    }

    /// Reads an object, calling `member` with each key once the reader stands before its value; `member` reads the
    /// value and returns whether it could.
    mutating func object(_ member: (inout FastReader, Key) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        while true {
            skipWhitespace()
            guard let key = key(), consume(UInt8(ascii: ":")), member(&self, key) else { return false }
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "}"))
        }
    }

    /// A health value: the exact upper-case spellings by their bytes, any other through ``Health/init(wireValue:)``.
    mutating func health() -> Health? {
        guard let (text, ascii) = rawString() else { return nil }
        let key = Key(bytes: text)
        if key.is("CLEAR") { return .clear }
        if key.is("DEVIATING") { return .deviating }
        if key.is("CRITICAL") { return .critical }
        return Self.string(text, ascii: ascii).flatMap { Health(wireValue: $0) }
    }

    /// Reads an array, calling `element` for each element; `element` reads it and returns whether it could.
    mutating func array(_ element: (inout FastReader) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "[")) else { return false }
        if consume(UInt8(ascii: "]")) { return true }
        while true {
            guard element(&self) else { return false }
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "]"))
        }
    }

    /// Consumes `null` if it comes next.
    mutating func null() -> Bool {
        literal("null")
    }

    mutating func literal(_ text: StaticString) -> Bool {
        skipWhitespace()
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// A string without escapes or control characters, of valid UTF-8.
    mutating func string() -> String? {
        guard let (text, ascii) = rawString() else { return nil }
        return Self.string(text, ascii: ascii)
    }

    /// A text that envelopes repeat (a URN, a check state's name, element or message): ``string()``, through the
    /// reader's ``TextInterner`` when it has one.
    mutating func text() -> String? {
        guard let texts else { return string() }
        guard let (text, ascii) = rawString() else { return nil }
        return texts.string(text, ascii: ascii)
    }

    /// The string of scanned bytes; `nil` when they are not valid UTF-8.
    static func string(_ text: UnsafeRawBufferPointer, ascii: Bool) -> String? {
        ascii ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
    }

    /// A non-negative integer of at most 15 digits, without sign, fraction or exponent.
    mutating func integer() -> Int? {
        skipWhitespace()
        let start = index
        var value = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            guard index - start < 15 else { return nil }
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits <= 15, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return value
    }

    /// Skips one value of the common kind: strings without escapes, integers, literals, and arrays and objects of
    /// them nested at most 16 deep.
    mutating func skipValue(depth: Int) -> Bool {
        guard depth <= 16 else { return false }
        skipWhitespace()
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"): return object { reader, _ in reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): return array { reader in reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"):
            index += 1
            guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else {
                return false
            }
            return integer() != nil
        default: return integer() != nil
        }
    }
}
