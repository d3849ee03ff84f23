import Foundation

/// Decodes intake envelopes (SPEC §2) from bytes, validating at three levels.
///
/// - Level 1, the envelope: bytes that are not JSON, not an object, too large, `health` not an array or a bad
///   `collection_timestamp` throw a ``PayloadError``; nothing of the envelope is applied.
/// - Level 2, a health message that cannot be attributed or typed: it lands in ``Envelope/rejections`` and the other
///   messages are decoded.
/// - Level 3, a check state: it becomes ``CheckStateInput/invalid(checkStateId:problem:)``; the processor drops it
///   and records a `SubStreamTransformerError`.
///
/// Unknown keys are ignored; in strict mode they are reported in ``Envelope/warnings``, and a non-main
/// sub-stream's `start_snapshot` without `expiry_interval_s` is rejected.
public struct EnvelopeDecoder: Sendable {
    /// Decoder settings.
    public struct Configuration: Sendable {
        /// Report unknown keys and reject non-main sub-streams without expiry.
        public var strict: Bool
        /// The largest body accepted, in bytes (default 8 MiB).
        public var maximumBodyBytes: Int
        /// The deepest JSON nesting accepted.
        public var maximumDepth: Int
        /// The largest accepted interval in seconds (default ten years); larger values are out of range.
        public var maximumIntervalSeconds: Int

        /// Creates a configuration.
        public init(
            strict: Bool = false,
            maximumBodyBytes: Int = 8 << 20,
            maximumDepth: Int = 64,
            maximumIntervalSeconds: Int = 315_360_000
        ) {
            self.strict = strict
            self.maximumBodyBytes = maximumBodyBytes
            self.maximumDepth = maximumDepth
            self.maximumIntervalSeconds = maximumIntervalSeconds
        }
    }

    /// The settings.
    public var configuration: Configuration

    /// Creates a decoder.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Creates a decoder, strict or not, with default limits.
    public init(strict: Bool) {
        self.init(configuration: Configuration(strict: strict))
    }

    /// Decodes one envelope from its bytes.
    /// - Throws: ``PayloadError`` (level 1) when the envelope as a whole is not decodable.
    public func decode(_ bytes: some Collection<UInt8>) throws(PayloadError) -> Envelope {
        try decode(bytes, interning: nil)
    }

    /// Decodes one envelope from its bytes, taking the texts it repeats from `texts` when it decodes them
    /// straight from the bytes (a replay's decoding loop, which owns the table).
    /// - Throws: ``PayloadError`` (level 1) when the envelope as a whole is not decodable.
    func decode(_ bytes: some Collection<UInt8>, interning texts: TextInterner?) throws(PayloadError) -> Envelope {
        guard bytes.count <= configuration.maximumBodyBytes else {
            throw PayloadError(
                code: .bodyTooLarge, path: "$",
                reason: "the body is \(bytes.count) bytes; at most \(configuration.maximumBodyBytes) are accepted"
            )
        }
        // The common envelope straight from the bytes; anything unusual (or any error) through the value tree.
        let common = bytes.withContiguousStorageIfAvailable {
            decodeCommonEnvelope(UnsafeRawBufferPointer($0), interning: texts)
        }
        if let common = common ?? nil { return common }
        let value: JSONValue
        do {
            value = try JSONParser(maximumDepth: configuration.maximumDepth).parse(bytes)
        } catch {
            var reason = error.reason
            if Self.looksLikeDocumentationDefect(bytes) { reason += "; " + Self.documentationDefectNote }
            throw PayloadError(code: .malformedJSON, path: "$", reason: reason, line: error.line, column: error.column)
        }
        return try decode(value)
    }

    /// Decodes one envelope from a parsed JSON value.
    /// - Throws: ``PayloadError`` (level 1) when the value is not an intake envelope.
    func decode(_ value: JSONValue) throws(PayloadError) -> Envelope {
        guard case .object(let root) = value else {
            throw PayloadError(
                code: .invalidEnvelope, path: "$",
                reason: "expected an intake envelope object, found \(value.typeName)",
                value: value.briefDescription
            )
        }
        var warnings: [PayloadError] = []
        reportUnknownKeys(of: root, known: EnvelopeRules.envelopeKeys, at: "", into: &warnings)

        var timestamp: Date?
        switch root["collection_timestamp"] {
        case nil, .null?: break
        case let field?:
            guard let seconds = field.numberValue, EnvelopeRules.isValidTimestamp(seconds) else {
                throw PayloadError(
                    code: .invalidEnvelope, path: "collection_timestamp",
                    reason: EnvelopeRules.timestampExpectation, value: field.briefDescription
                )
            }
            timestamp = Date(timeIntervalSince1970: seconds)
        }
        var hostname: String?
        if case .string(let name)? = root["internalHostname"] { hostname = name }

        var messages: [HealthMessage] = []
        var rejections: [PayloadError] = []
        switch root["health"] {
        case nil, .null?: break
        case .array(let items)?:
            for (index, item) in items.enumerated() {
                let path = "health[\(index)]"
                do {
                    messages.append(try decodeMessage(item, at: path, warnings: &warnings))
                } catch {
                    rejections.append(error)
                }
            }
        case let other?:
            throw PayloadError(
                code: .invalidEnvelope, path: "health",
                reason: "expected an array of health messages, found \(other.typeName)",
                value: other.briefDescription
            )
        }
        return Envelope(
            collectionTimestamp: timestamp, internalHostname: hostname, messages: messages, rejections: rejections,
            warnings: warnings
        )
    }

    // MARK: Messages (level 2)

    private func decodeMessage(
        _ value: JSONValue,
        at path: String,
        warnings: inout [PayloadError]
    ) throws(PayloadError) -> HealthMessage {
        guard case .object(let object) = value else {
            var reason = "expected a health message object, found \(value.typeName)"
            if case .array = value { reason += "; " + Self.documentationDefectNote }
            throw messageError(path, reason, value)
        }
        reportUnknownKeys(of: object, known: EnvelopeRules.messageKeys, at: path, into: &warnings)

        guard let streamValue = object["stream"], case .object(let stream) = streamValue else {
            throw messageError("\(path).stream", "expected an object with a urn", object["stream"])
        }
        reportUnknownKeys(of: stream, known: ["urn", "sub_stream_id"], at: "\(path).stream", into: &warnings)
        let urn = try decodeURN(stream["urn"], at: "\(path).stream.urn")
        let subStreamId = try decodeSubStreamId(stream["sub_stream_id"], at: "\(path).stream.sub_stream_id")
        let key = StreamKey(urn: urn, subStreamId: subStreamId)

        var model = ConsistencyModel.repeatSnapshots
        switch object["consistency_model"] {
        case nil, .null?: break
        case .string(let name)?:
            guard let parsed = ConsistencyModel(rawValue: name.uppercased()) else {
                throw messageError(
                    "\(path).consistency_model",
                    "expected REPEAT_SNAPSHOTS, REPEAT_STATES or TRANSACTIONAL_INCREMENTS", object["consistency_model"]
                )
            }
            model = parsed
        case let other?:
            throw messageError(
                "\(path).consistency_model",
                "expected REPEAT_SNAPSHOTS, REPEAT_STATES or TRANSACTIONAL_INCREMENTS", other
            )
        }

        var message = HealthMessage(stream: key, consistencyModel: model, path: path)
        switch model {
        case .repeatSnapshots:
            message.startSnapshot = try decodeIntervals(
                object["start_snapshot"], at: "\(path).start_snapshot", warnings: &warnings
            )
            if let start = message.startSnapshot,
                EnvelopeRules.lacksRequiredExpiry(start, of: key, strict: configuration.strict)
            {
                throw messageError(
                    "\(path).start_snapshot.expiry_interval_s",
                    "strict mode: a non-main sub-stream needs an expiry_interval_s above 0", object["start_snapshot"]
                )
            }
            switch object["stop_snapshot"] {
            case nil, .null?: break
            case .object(let stop)?:
                message.stopSnapshot = true
                reportUnknownKeys(of: stop, known: [], at: "\(path).stop_snapshot", into: &warnings)
            case let other?:
                throw messageError("\(path).stop_snapshot", "expected an object ({})", other)
            }
        case .repeatStates:
            message.expiry = try decodeIntervals(object["expiry"], at: "\(path).expiry", warnings: &warnings)
        case .transactionalIncrements:
            guard let incrementValue = object["increment"], case .object(let increment) = incrementValue else {
                throw messageError(
                    "\(path).increment", "expected an object with a checkpoint (TRANSACTIONAL_INCREMENTS)",
                    object["increment"]
                )
            }
            reportUnknownKeys(
                of: increment, known: ["checkpoint", "previous_checkpoint"], at: "\(path).increment", into: &warnings
            )
            guard
                let checkpoint = try decodeCheckpoint(
                    increment["checkpoint"], at: "\(path).increment.checkpoint", warnings: &warnings
                )
            else {
                throw messageError("\(path).increment.checkpoint", "expected an object with an offset", nil)
            }
            let previous = try decodeCheckpoint(
                increment["previous_checkpoint"], at: "\(path).increment.previous_checkpoint", warnings: &warnings
            )
            message.increment = Increment(checkpoint: checkpoint, previousCheckpoint: previous)
        }

        switch object["check_states"] {
        case nil, .null?: break
        case .array(let items)?:
            var inputs: [CheckStateInput] = []
            inputs.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                inputs.append(
                    decodeCheckState(
                        item, at: "\(path).check_states[\(index)]", model: model, warnings: &warnings
                    )
                )
            }
            message.checkStates = Self.lastOccurrences(inputs)
        case let other?:
            throw messageError("\(path).check_states", "expected an array of check states", other)
        }
        return message
    }

    private func decodeURN(_ value: JSONValue?, at path: String) throws(PayloadError) -> String {
        guard case .string(let urn)? = value else {
            throw messageError(path, "expected a URN string such as urn:health:sourceId:streamId", value)
        }
        guard EnvelopeRules.isValidURN(urn) else {
            throw messageError(
                path,
                "expected a URN such as urn:health:sourceId:streamId (\"urn:\" prefix, no spaces, at most "
                    + "1024 bytes)", value
            )
        }
        return urn
    }

    private func decodeSubStreamId(_ value: JSONValue?, at path: String) throws(PayloadError) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let id)?:
            guard EnvelopeRules.isValidSubStreamId(id) else {
                throw messageError(
                    path, "expected a sub-stream id of at most 1024 bytes without control characters", value)
            }
            return id
        case let other?:
            throw messageError(path, "expected a string", other)
        }
    }

    private func decodeIntervals(
        _ value: JSONValue?,
        at path: String,
        warnings: inout [PayloadError]
    ) throws(PayloadError) -> Intervals? {
        switch value {
        case nil, .null?: return nil
        case .object(let object)?:
            reportUnknownKeys(of: object, known: ["repeat_interval_s", "expiry_interval_s"], at: path, into: &warnings)
            guard let repeatInterval = try decodeSeconds(object["repeat_interval_s"], at: "\(path).repeat_interval_s")
            else {
                throw messageError("\(path).repeat_interval_s", "expected a whole number of seconds of at least 1", nil)
            }
            guard EnvelopeRules.isValidRepeatInterval(repeatInterval, limit: configuration.maximumIntervalSeconds)
            else {
                throw messageError(
                    "\(path).repeat_interval_s", "expected a whole number of seconds of at least 1",
                    object["repeat_interval_s"]
                )
            }
            let expiry = try decodeSeconds(object["expiry_interval_s"], at: "\(path).expiry_interval_s") ?? 0
            return Intervals(repeatInterval: repeatInterval, expiryInterval: expiry)
        case let other?:
            throw messageError(path, "expected an object with repeat_interval_s", other)
        }
    }

    private func decodeSeconds(_ value: JSONValue?, at path: String) throws(PayloadError) -> Int? {
        let limit = configuration.maximumIntervalSeconds
        let expectation = "expected a whole number of seconds from 0 to \(limit)"
        switch value {
        case nil, .null?: return nil
        case .integer(let seconds)?:
            guard seconds >= 0, seconds <= Int64(limit), EnvelopeRules.isValidInterval(Int(seconds), limit: limit)
            else {
                throw messageError(path, expectation, value)
            }
            return Int(seconds)
        case .double(let seconds)?:
            guard seconds >= 0, seconds <= Double(limit), seconds == seconds.rounded(),
                EnvelopeRules.isValidInterval(Int(seconds), limit: limit)
            else {
                throw messageError(path, expectation, value)
            }
            return Int(seconds)
        case let other?:
            throw messageError(path, expectation, other)
        }
    }

    private func decodeCheckpoint(
        _ value: JSONValue?,
        at path: String,
        warnings: inout [PayloadError]
    ) throws(PayloadError) -> Checkpoint? {
        switch value {
        case nil, .null?: return nil
        case .object(let object)?:
            reportUnknownKeys(of: object, known: ["offset", "batch_index"], at: path, into: &warnings)
            guard case .integer(let offset)? = object["offset"], offset >= 0 else {
                throw messageError("\(path).offset", "expected a non-negative integer offset", object["offset"])
            }
            var batchIndex: Int64?
            switch object["batch_index"] {
            case nil, .null?: break
            case .integer(let index)? where index >= 0: batchIndex = index
            case let other?:
                throw messageError("\(path).batch_index", "expected a non-negative integer", other)
            }
            return Checkpoint(offset: offset, batchIndex: batchIndex)
        case let other?:
            throw messageError(path, "expected a checkpoint object with an offset", other)
        }
    }

    // MARK: Check states (level 3)

    private func decodeCheckState(
        _ value: JSONValue,
        at path: String,
        model: ConsistencyModel,
        warnings: inout [PayloadError]
    ) -> CheckStateInput {
        guard case .object(let object) = value else {
            return .invalid(checkStateId: nil, problem: checkStateError(path, "expected a check state object", value))
        }
        reportUnknownKeys(of: object, known: EnvelopeRules.checkStateKeys, at: path, into: &warnings)
        let id: String?
        if case .string(let text)? = object["checkStateId"], !text.isEmpty { id = text } else { id = nil }
        guard let id else {
            return .invalid(
                checkStateId: nil,
                problem: checkStateError("\(path).checkStateId", "expected a non-empty string", object["checkStateId"])
            )
        }
        if let problem = EnvelopeRules.textProblem(id, .identifier) {
            // An id that cannot be stored as sent is not an id: nothing of that name counts as seen.
            return .invalid(
                checkStateId: nil,
                problem: checkStateError("\(path).checkStateId", problem, object["checkStateId"])
            )
        }
        if model == .transactionalIncrements {
            switch object["delete"] {
            case nil, .null?, .bool(false)?: break
            case .bool(true)?: return .delete(checkStateId: id)
            case let other?:
                return .invalid(
                    checkStateId: id, problem: checkStateError("\(path).delete", "expected true or false", other)
                )
            }
        }
        guard case .string(let name)? = object["name"] else {
            return .invalid(
                checkStateId: id, problem: checkStateError("\(path).name", "expected a string", object["name"]))
        }
        if let problem = EnvelopeRules.textProblem(name, .name) {
            return .invalid(checkStateId: id, problem: checkStateError("\(path).name", problem, object["name"]))
        }
        guard case .string(let healthText)? = object["health"], let health = Health(wireValue: healthText) else {
            return .invalid(
                checkStateId: id,
                problem: checkStateError(
                    "\(path).health", "expected CLEAR, DEVIATING or CRITICAL (any case)", object["health"]
                )
            )
        }
        guard case .string(let element)? = object["topologyElementIdentifier"], !element.isEmpty else {
            return .invalid(
                checkStateId: id,
                problem: checkStateError(
                    "\(path).topologyElementIdentifier", "expected a non-empty string",
                    object["topologyElementIdentifier"]
                )
            )
        }
        if let problem = EnvelopeRules.textProblem(element, .identifier) {
            return .invalid(
                checkStateId: id,
                problem: checkStateError(
                    "\(path).topologyElementIdentifier", problem, object["topologyElementIdentifier"])
            )
        }
        var message: String?
        switch object["message"] {
        case nil, .null?: break
        case .string(let text)?:
            if let problem = EnvelopeRules.textProblem(text, .message) {
                return .invalid(
                    checkStateId: id, problem: checkStateError("\(path).message", problem, object["message"]))
            }
            message = text
        case let other?:
            return .invalid(
                checkStateId: id, problem: checkStateError("\(path).message", "expected a string or null", other)
            )
        }
        return .upsert(
            CheckState(
                checkStateId: id, name: name, health: health, topologyElementIdentifier: element, message: message
            )
        )
    }

    /// The most UTF-8 bytes of a `checkStateId` or a `topologyElementIdentifier` (as of a URN or a sub-stream id).
    public static let maximumIdentifierBytes = EnvelopeRules.maximumIdentifierBytes
    /// The most UTF-8 bytes of a check state's `name`.
    public static let maximumNameBytes = EnvelopeRules.maximumNameBytes
    /// The most UTF-8 bytes of a check state's `message`: 64 KiB, pages of markdown.
    public static let maximumMessageBytes = EnvelopeRules.maximumMessageBytes

    /// SPEC §2 (decision): a duplicate `checkStateId` inside one message: the last one wins.
    static func lastOccurrences(_ inputs: [CheckStateInput]) -> [CheckStateInput] {
        var lastIndex: [String: Int] = [:]
        lastIndex.reserveCapacity(inputs.count)
        var withIds = 0
        for (index, input) in inputs.enumerated() {
            guard let id = input.checkStateId else { continue }
            lastIndex[id] = index
            withIds += 1
        }
        guard lastIndex.count < withIds else { return inputs }
        return inputs.enumerated().compactMap { index, input in
            guard let id = input.checkStateId else { return input }
            return lastIndex[id] == index ? input : nil
        }
    }

    // MARK: Helpers

    static let documentationDefectNote =
        "this is the shape of the StackState 4.4 documentation example, which is a documentation defect: `health` "
        + "must be a flat array of message objects (the example nests it in a second array and misses a `},` "
        + "between its two check states)"

    /// Whether the bytes carry `"health"` followed by `[` `[`: the broken StackState 4.4 example.
    static func looksLikeDocumentationDefect(_ bytes: some Collection<UInt8>) -> Bool {
        let data = Array(bytes.prefix(1 << 20))
        let key = Array("\"health\"".utf8)
        guard data.count > key.count else { return false }
        var index = 0
        while index + key.count <= data.count {
            if data[index] == key[0], Array(data[index..<(index + key.count)]) == key {
                var cursor = index + key.count
                var expected: [UInt8] = [UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "[")]
                while cursor < data.count, !expected.isEmpty {
                    let byte = data[cursor]
                    if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                        cursor += 1
                    } else if byte == expected[0] {
                        expected.removeFirst()
                        cursor += 1
                    } else {
                        break
                    }
                }
                if expected.isEmpty { return true }
            }
            index += 1
        }
        return false
    }

    private func reportUnknownKeys(
        of object: JSONObject,
        known: Set<String>,
        at path: String,
        into warnings: inout [PayloadError]
    ) {
        guard configuration.strict else { return }
        for key in object.keys where !known.contains(key) {
            warnings.append(
                PayloadError(
                    code: .unknownKey, path: path.isEmpty ? key : "\(path).\(key)",
                    reason: "unknown key (ignored)"
                )
            )
        }
    }

    private func messageError(_ path: String, _ expectation: String, _ value: JSONValue?) -> PayloadError {
        PayloadError(
            code: .invalidMessage, path: path,
            reason: value == nil ? "\(expectation), found nothing" : expectation,
            value: value?.briefDescription
        )
    }

    private func checkStateError(_ path: String, _ expectation: String, _ value: JSONValue?) -> PayloadError {
        PayloadError(
            code: .invalidCheckState, path: path,
            reason: value == nil ? "\(expectation), found nothing" : expectation,
            value: value?.briefDescription
        )
    }
}

extension JSONValue {
    /// The value of a number, integer or not.
    var numberValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
}
