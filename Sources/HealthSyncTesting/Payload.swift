import HealthSync

/// Builds intake payloads as JSON text, for tests, fixtures and benchmarks.
///
/// ```swift
/// let body = Payload.envelope(at: 1_000, [
///     Payload.snapshot("urn:health:a:b", states: [Payload.checkState("disk", health: "CRITICAL")]),
/// ])
/// ```
public enum Payload {
    /// An intake envelope around health messages (each a JSON object as text).
    public static func envelope(at timestamp: Double? = nil, _ messages: [String]) -> String {
        var fields = [
            "\"events\":{}", "\"internalHostname\":\"test-host\"", "\"metrics\":[]", "\"service_checks\":[]",
            "\"topologies\":[]", "\"health\":[\(messages.joined(separator: ","))]",
        ]
        if let timestamp { fields.insert("\"collection_timestamp\":\(number(timestamp))", at: 0) }
        return "{\(fields.joined(separator: ","))}"
    }

    /// A check state object.
    public static func checkState(
        _ id: String,
        health: String = "CLEAR",
        name: String? = nil,
        element: String? = nil,
        message: String? = nil
    ) -> String {
        var fields = [
            "\"checkStateId\":\(quote(id))", "\"name\":\(quote(name ?? "check \(id)"))",
            "\"health\":\(quote(health))", "\"topologyElementIdentifier\":\(quote(element ?? "element-\(id)"))",
        ]
        if let message { fields.append("\"message\":\(quote(message))") }
        return "{\(fields.joined(separator: ","))}"
    }

    /// A `{checkStateId, delete: true}` entry (TRANSACTIONAL_INCREMENTS).
    public static func deletion(_ id: String) -> String {
        "{\"checkStateId\":\(quote(id)),\"delete\":true}"
    }

    /// A REPEAT_SNAPSHOTS message: by default a whole snapshot (start, check states, stop).
    public static func snapshot(
        _ urn: String,
        subStream: String? = nil,
        repeatInterval: Int = 60,
        expiryInterval: Int? = nil,
        start: Bool = true,
        stop: Bool = true,
        states: [String] = [],
        model: Bool = false
    ) -> String {
        var fields = [stream(urn, subStream)]
        if model { fields.append("\"consistency_model\":\"REPEAT_SNAPSHOTS\"") }
        if start { fields.append("\"start_snapshot\":\(intervals(repeatInterval, expiryInterval))") }
        fields.append("\"check_states\":[\(states.joined(separator: ","))]")
        if stop { fields.append("\"stop_snapshot\":{}") }
        return "{\(fields.joined(separator: ","))}"
    }

    /// A REPEAT_STATES message, with an `expiry` setup unless `setup` is false.
    public static func repeatStates(
        _ urn: String,
        subStream: String? = nil,
        repeatInterval: Int = 60,
        expiryInterval: Int? = 300,
        setup: Bool = true,
        states: [String] = []
    ) -> String {
        var fields = [stream(urn, subStream), "\"consistency_model\":\"REPEAT_STATES\""]
        if setup { fields.append("\"expiry\":\(intervals(repeatInterval, expiryInterval))") }
        fields.append("\"check_states\":[\(states.joined(separator: ","))]")
        return "{\(fields.joined(separator: ","))}"
    }

    /// A TRANSACTIONAL_INCREMENTS message.
    public static func increment(
        _ urn: String,
        subStream: String? = nil,
        checkpoint: Checkpoint,
        previous: Checkpoint? = nil,
        states: [String] = []
    ) -> String {
        var increment = "\"checkpoint\":\(self.checkpoint(checkpoint))"
        if let previous { increment += ",\"previous_checkpoint\":\(self.checkpoint(previous))" }
        let fields = [
            stream(urn, subStream), "\"consistency_model\":\"TRANSACTIONAL_INCREMENTS\"",
            "\"increment\":{\(increment)}", "\"check_states\":[\(states.joined(separator: ","))]",
        ]
        return "{\(fields.joined(separator: ","))}"
    }

    /// A JSON string literal.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func stream(_ urn: String, _ subStream: String?) -> String {
        if let subStream { return "\"stream\":{\"urn\":\(quote(urn)),\"sub_stream_id\":\(quote(subStream))}" }
        return "\"stream\":{\"urn\":\(quote(urn))}"
    }

    private static func intervals(_ repeatInterval: Int, _ expiryInterval: Int?) -> String {
        if let expiryInterval {
            return "{\"repeat_interval_s\":\(repeatInterval),\"expiry_interval_s\":\(expiryInterval)}"
        }
        return "{\"repeat_interval_s\":\(repeatInterval)}"
    }

    private static func checkpoint(_ checkpoint: Checkpoint) -> String {
        if let batch = checkpoint.batchIndex { return "{\"offset\":\(checkpoint.offset),\"batch_index\":\(batch)}" }
        return "{\"offset\":\(checkpoint.offset)}"
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
