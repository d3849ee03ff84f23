import ArgumentParser
import Foundation

/// `--format`: a table for people, or JSON as the stable machine contract (see ``JSONContract``).
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Aligned columns with headers; `-` for absent values.
    case table
    /// Pretty-printed JSON with sorted keys and explicit nulls.
    case json

    /// Encodes a JSON document the way every command prints it: sorted keys, pretty-printed, slashes unescaped.
    /// - Throws: `EncodingError` (not expected for the contract's types).
    static func json(_ document: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }
}
