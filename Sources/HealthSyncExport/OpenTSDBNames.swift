import Foundation

/// Health samples as the JSON OpenTSDB's `/api/put` takes: metric `healthsync.check_state.health`, timestamps in
/// seconds, tags `urn`, `sub_stream` (left out for main), `check_state` and `element` (left out when empty:
/// OpenTSDB refuses empty tag values).
///
/// OpenTSDB allows only `a-z A-Z 0-9 - _ . /` in tag values, so every tag value is encoded with ``encode(_:)``,
/// which is reversible (``decode(_:)``): each UTF-8 byte outside `a-z A-Z 0-9 - . /`, and `_` itself, is written
/// as `_` and two upper-case hexadecimal digits. `urn:health:src:disk_1` is `urn_3Ahealth_3Asrc_3Adisk_5F1`.
///
/// ```json
/// {"metric":"healthsync.check_state.health","timestamp":1700000000,"value":2,
///  "tags":{"urn":"urn_3Ahealth_3Aa_3Ab","check_state":"disk","element":"host-1"}}
/// ```
public enum OpenTSDBNames {
    /// The metric.
    public static let metric = "healthsync.check_state.health"

    /// Whether `byte` is written as is: `a-z A-Z 0-9 - . /`.
    static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"):
            true
        default: false
        }
    }

    /// `text` in OpenTSDB's characters: every UTF-8 byte outside `a-z A-Z 0-9 - . /`, and `_`, as `_HH`.
    public static func encode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            if isPlain(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "_"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The text ``encode(_:)`` made `encoded` from; `nil` when `encoded` is not such an encoding.
    public static func decode(_ encoded: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = encoded.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "_") else {
                guard isPlain(byte) else { return nil }
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The JSON object of `sample` at `seconds` since 1970 (no separator, no line feed).
    public static func datapoint(_ sample: HealthSample, seconds: Int64) -> String {
        var tags: [String] = []
        for (tag, value) in [
            ("urn", sample.series.urn), ("sub_stream", sample.series.subStreamId),
            ("check_state", sample.series.checkStateId), ("element", sample.series.element),
        ] where !value.isEmpty {
            // Encoded values hold only characters JSON takes as they are.
            tags.append("\"\(tag)\":\"\(encode(value))\"")
        }
        return "{\"metric\":\"\(metric)\",\"timestamp\":\(seconds),\"value\":\(sample.value),\"tags\":{"
            + tags.joined(separator: ",") + "}}"
    }
}
