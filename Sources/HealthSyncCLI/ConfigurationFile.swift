import Configuration
import Foundation
import SystemPackage
import Yams

/// A `serve` configuration file, JSON (`.json`) or YAML (`.yaml`, `.yml`): one object or mapping whose keys are
/// ``ServeSettings/Key`` raw values (the long options' names).
///
/// ``values()`` checks the file as the command line is checked and names the line of each problem: a parse error, a
/// key that is not a setting (a typo is never ignored), a value of the wrong type or out of range. swift-configuration's
/// snapshots report neither lines nor unknown keys, so the file is checked here before its ``provider()`` is read.
struct ConfigurationFile: Sendable {
    /// The file's formats.
    enum Format: Sendable {
        case json
        case yaml
    }

    /// The path as given, which messages name.
    let path: String
    let format: Format
    let contents: String

    /// Reads the file at `path`.
    /// - Throws: ``ServeSettingsError`` when it cannot be read, is not UTF-8, or its extension names no format.
    static func read(_ path: String) throws(ServeSettingsError) -> ConfigurationFile {
        let format: Format
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "json": format = .json
        case "yaml", "yml": format = .yaml
        default:
            throw ServeSettingsError(
                description: "\(path): a configuration file ends in .json, .yaml or .yml, which says its format")
        }
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ServeSettingsError(
                description: "cannot read configuration file \(path): \(error.localizedDescription)")
        }
        return ConfigurationFile(path: path, format: format, contents: contents)
    }

    /// The values of the file, each checked.
    /// - Throws: ``ServeSettingsError`` saying `PATH:LINE: …` for the first problem.
    func values() throws(ServeSettingsError) -> [ServeSettings.Key: ServeSettings.Value] {
        let entries = try format == .json ? jsonEntries() : yamlEntries()
        var values: [ServeSettings.Key: ServeSettings.Value] = [:]
        var lines: [String: Int] = [:]
        for entry in entries {
            // JSON parsers keep one of two equal keys, YAML refuses them: a file that says two things says neither.
            if let first = lines[entry.key] {
                throw error(line: entry.line, "duplicate key '\(entry.key)' (first on line \(first))")
            }
            lines[entry.key] = entry.line
            guard let key = ServeSettings.Key(rawValue: entry.key) else {
                let known = ServeSettings.Key.allCases.map(\.rawValue).joined(separator: ", ")
                throw error(line: entry.line, "unknown key '\(entry.key)' (the keys are \(known))")
            }
            guard let value = entry.value.value(of: key.kind) else {
                throw ServeSettings.invalid(
                    key.kind, found: entry.value.found, in: "\(path):\(entry.line): \(key.rawValue)")
            }
            values[key] = value
        }
        return values
    }

    /// The swift-configuration provider of the file; call it after ``values()`` accepted the file. `nil` for a
    /// YAML file without a document (empty, or only comments), which sets nothing.
    func provider() async throws(ServeSettingsError) -> (any ConfigProvider)? {
        if format == .yaml, (try? Parser(yaml: contents).singleRoot()) == nil { return nil }
        do {
            switch format {
            case .json: return try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
            case .yaml: return try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            }
        } catch {
            throw ServeSettingsError(description: "\(path): \(error)")
        }
    }

    /// An error at `line` of the file.
    func error(line: Int, _ message: String) -> ServeSettingsError {
        ServeSettingsError(description: "\(path):\(line): \(message)")
    }

    /// One top-level key of the file, its line and its value.
    struct Entry {
        var key: String
        var line: Int
        var value: FileValue
    }

    /// A value as the file spells it.
    enum FileValue {
        /// A JSON value: its text and what it is.
        case json(String, JSONKind)
        /// A YAML scalar.
        case scalar(Node.Scalar)
        /// A YAML sequence of scalars.
        case sequence([Node.Scalar])
        /// Something no setting takes (a YAML mapping, a sequence of sequences…), described.
        case other(String)

        enum JSONKind {
            case string(String)
            case number
            case bool(Bool)
            case null
            case strings([String])
            case other
        }

        /// What a message says was found.
        var found: String {
            switch self {
            case .json(let text, _): text
            case .scalar(let scalar): scalar.string
            case .sequence(let scalars): "[" + scalars.map(\.string).joined(separator: ", ") + "]"
            case .other(let description): description
            }
        }

        /// The value for a setting of `kind`, converted as swift-configuration's JSON and YAML snapshots convert it;
        /// `nil` when `kind` does not take it.
        func value(of kind: ServeSettings.Kind) -> ServeSettings.Value? {
            switch (self, kind) {
            case (.json(_, .string(let text)), .path), (.json(_, .string(let text)), .address),
                (.json(_, .string(let text)), .duration), (.json(_, .string(let text)), .logLevel):
                return kind.value(ofText: text)
            case (.json(let text, .number), .port), (.json(let text, .number), .count),
                (.json(let text, .number), .grace), (.json(let text, .number), .duration),
                (.json(let text, .number), .threshold):
                return kind.value(ofText: text)
            case (.json(_, .bool(let flag)), .flag):
                return .flag(flag)
            case (.json(_, .strings(let keys)), .keys):
                return keys.contains { $0.trimmingCharacters(in: .whitespaces).isEmpty } ? nil : .keys(keys)
            case (.scalar(let scalar), .port), (.scalar(let scalar), .count):
                return Int.construct(from: scalar).flatMap { kind.accepts(integer: $0) ? .integer($0) : nil }
            case (.json(_, .string(let text)), .grace):
                return kind.value(ofText: text)
            case (.scalar(let scalar), .grace), (.scalar(let scalar), .threshold):
                return scalar.isNull ? nil : kind.value(ofText: scalar.string)
            case (.scalar(let scalar), .flag):
                return Bool.construct(from: scalar).map { .flag($0) }
            case (.scalar(let scalar), .path), (.scalar(let scalar), .address), (.scalar(let scalar), .duration),
                (.scalar(let scalar), .logLevel):
                return scalar.isNull ? nil : kind.value(ofText: scalar.string)
            case (.json(_, .string(let text)), .access), (.json(_, .string(let text)), .title),
                (.json(_, .string(let text)), .prefixes):
                return kind.value(ofText: text)
            case (.scalar(let scalar), .access), (.scalar(let scalar), .title), (.scalar(let scalar), .prefixes):
                return scalar.isNull ? nil : kind.value(ofText: scalar.string)
            case (.json(_, .strings(let prefixes)), .prefixes):
                return .list(prefixes)
            case (.sequence(let scalars), .prefixes):
                return .list(scalars.map(\.string))
            case (.sequence(let scalars), .keys):
                let keys = scalars.map(\.string)
                return keys.contains { $0.trimmingCharacters(in: .whitespaces).isEmpty } ? nil : .keys(keys)
            default:
                return nil
            }
        }
    }

    // MARK: - JSON

    /// The top-level entries of a JSON file.
    func jsonEntries() throws(ServeSettingsError) -> [Entry] {
        let data = Data(contents.utf8)
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw self.error(line: jsonErrorLine(error), "not valid JSON: \(Self.jsonErrorDescription(error))")
        }
        guard parsed is [String: Any] else {
            throw self.error(line: 1, "the file holds one JSON object, of settings by key")
        }
        return JSONScanner(bytes: Array(contents.utf8)).topLevelEntries()
    }

    /// The line JSONSerialization's error points at: its "around line N", else its "around character N" (an offset
    /// into the bytes), else the last line (an unexpected end of the file).
    func jsonErrorLine(_ error: any Error) -> Int {
        let text = Self.jsonErrorDescription(error)
        if let line = Self.number(after: "line ", in: text) { return line }
        let bytes = Array(contents.utf8)
        if let offset = Self.number(after: "character ", in: text) {
            return bytes.prefix(offset).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        }
        let lines = bytes.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        return bytes.last == UInt8(ascii: "\n") ? max(1, lines - 1) : lines
    }

    /// The most precise description Foundation gives of a JSON error.
    static func jsonErrorDescription(_ error: any Error) -> String {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
    }

    /// The decimal number that follows `marker` in `text`.
    static func number(after marker: String, in text: String) -> Int? {
        guard let range = text.range(of: marker) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isASCII && $0.isNumber })
    }

    // MARK: - YAML

    /// The top-level entries of a YAML file.
    func yamlEntries() throws(ServeSettingsError) -> [Entry] {
        let root: Node?
        do {
            root = try Parser(yaml: contents).singleRoot()
        } catch let yamlError as YamlError {
            throw yamlErrorWithLine(yamlError)
        } catch {
            throw self.error(line: 1, "not valid YAML: \(error)")
        }
        // An empty file sets nothing.
        guard let root else { return [] }
        guard let mapping = root.mapping else {
            throw self.error(line: root.mark?.line ?? 1, "the file holds one YAML mapping, of settings by key")
        }
        return mapping.map { key, value in
            let line = key.mark?.line ?? 1
            let fileValue: FileValue
            switch value {
            case .scalar(let scalar):
                fileValue = .scalar(scalar)
            case .sequence(let sequence):
                let scalars = sequence.compactMap(\.scalar)
                fileValue = scalars.count == sequence.count ? .sequence(scalars) : .other("a nested sequence")
            case .mapping:
                fileValue = .other("a mapping")
            case .alias:
                fileValue = .other("an alias")
            }
            return Entry(key: key.string ?? "\(key)", line: line, value: fileValue)
        }
    }

    /// A YAML parse error with the line Yams reports.
    func yamlErrorWithLine(_ yamlError: YamlError) -> ServeSettingsError {
        let line: Int
        let problem: String
        switch yamlError {
        case .scanner(_, let text, let mark, _), .parser(_, let text, let mark, _), .composer(_, let text, let mark, _):
            line = mark.line
            problem = text
        case .reader(let text, let offset, _, _):
            let bytes = Array(contents.utf8)
            line = bytes.prefix(offset ?? 0).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            problem = text
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the mapping; the line of the second top-level occurrence says more.
            let lines = contents.split(separator: "\n", omittingEmptySubsequences: false)
            let second = duplicates.first.flatMap { key in
                lines.indices.filter { lines[$0].hasPrefix("\(key):") || lines[$0].hasPrefix("\"\(key)\":") }
                    .dropFirst().first
            }
            line = second.map { $0 + 1 } ?? context.mark.line
            problem = "duplicate key \(duplicates.joined(separator: ", "))"
        default:
            line = 1
            problem = "\(yamlError)"
        }
        return error(line: line, "not valid YAML: \(problem)")
    }
}

/// Finds the top-level keys of a JSON object that JSONSerialization accepted, with their lines and values' text.
private struct JSONScanner {
    let bytes: [UInt8]

    func topLevelEntries() -> [ConfigurationFile.Entry] {
        var entries: [ConfigurationFile.Entry] = []
        var index = 0
        var line = 1
        var depth = 0
        // The key just read at depth 1 and its line, waiting for its value.
        var pendingKey: (text: String, line: Int)?
        var valueStart: Int?
        var valueKey: (text: String, line: Int)?

        func finishValue(at end: Int) {
            guard let start = valueStart, let key = valueKey else { return }
            let text = String(decoding: bytes[start..<end], as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines)
            entries.append(.init(key: key.text, line: key.line, value: Self.classify(text)))
            valueStart = nil
            valueKey = nil
        }

        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    index += 1
                }
                if depth == 1, valueStart == nil {
                    let literal = String(decoding: bytes[start...min(index, bytes.count - 1)], as: UTF8.self)
                    pendingKey = (Self.decodeString(literal) ?? literal, line)
                }
            case UInt8(ascii: ":") where depth == 1 && valueStart == nil:
                valueStart = index + 1
                valueKey = pendingKey
                pendingKey = nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 1 { finishValue(at: index) }
                depth -= 1
            case UInt8(ascii: ",") where depth == 1:
                finishValue(at: index)
            default:
                break
            }
            index += 1
        }
        return entries
    }

    /// The string a JSON string literal stands for.
    static func decodeString(_ literal: String) -> String? {
        try? JSONDecoder().decode(String.self, from: Data(literal.utf8))
    }

    /// What a JSON value's text is.
    static func classify(_ text: String) -> ConfigurationFile.FileValue {
        guard let first = text.first else { return .json(text, .other) }
        switch first {
        case "\"":
            return .json(text, decodeString(text).map { .string($0) } ?? .other)
        case "t", "f":
            return .json(text, text == "true" ? .bool(true) : text == "false" ? .bool(false) : .other)
        case "n":
            return .json(text, .null)
        case "[":
            let strings = try? JSONDecoder().decode([String].self, from: Data(text.utf8))
            return .json(text, strings.map { .strings($0) } ?? .other)
        case "-", "0"..."9":
            return .json(text, .number)
        default:
            return .json(text, .other)
        }
    }
}

extension Node.Scalar {
    /// Whether the scalar is YAML's null (`key:` with nothing, `~`, `null`): no value, which no setting takes.
    var isNull: Bool { style == .plain && ["", "~", "null", "Null", "NULL"].contains(string) }
}
