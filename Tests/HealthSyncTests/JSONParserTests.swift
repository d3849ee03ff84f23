import Foundation
import Testing

@testable import HealthSync

@Suite struct JSONParserTests {
    // MARK: Helpers

    private func parse(_ text: String, maximumDepth: Int = 64) throws(JSONParseError) -> JSONValue {
        try JSONParser(maximumDepth: maximumDepth).parse(Array(text.utf8))
    }

    /// The error thrown for `bytes`, or nil if they parse.
    private func parseError(_ bytes: [UInt8], maximumDepth: Int = 64) -> JSONParseError? {
        do {
            _ = try JSONParser(maximumDepth: maximumDepth).parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    private func object(_ members: (String, JSONValue)...) -> JSONValue {
        .object(JSONObject(members.map { (key: $0.0, value: $0.1) }))
    }

    // MARK: Values

    @Test func parsesLiterals() throws {
        #expect(try parse("null") == .null)
        #expect(try parse("true") == .bool(true))
        #expect(try parse("false") == .bool(false))
    }

    @Test(arguments: [
        ("0", JSONValue.integer(0)),
        ("-0", .integer(0)),
        ("42", .integer(42)),
        ("-17", .integer(-17)),
        ("9223372036854775807", .integer(.max)),
        ("-9223372036854775808", .integer(.min)),
        ("0.5", .double(0.5)),
        ("-0.0", .double(-0.0)),
        ("1.5e3", .double(1500)),
        ("1E-2", .double(0.01)),
        ("2e+2", .double(200)),
        ("0e0", .double(0)),
        ("72.4", .double(72.4)),
        ("1.7976931348623157e308", .double(.greatestFiniteMagnitude)),
        ("5e-324", .double(.leastNonzeroMagnitude)),
        ("1e-999", .double(0)),
        ("0.30000000000000004", .double(0.1 + 0.2)),
        ("123456789012345678901234567890e-10", .double(12_345_678_901_234_567_890.123456789)),
    ])
    func parsesNumbers(text: String, expected: JSONValue) throws {
        #expect(try parse(text) == expected)
    }

    @Test func bigIntegersFallBackToDouble() throws {
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808.0))
        #expect(try parse("-9223372036854775809") == .double(-9_223_372_036_854_775_809.0))
        #expect(try parse("12345678901234567890") == .double(12_345_678_901_234_567_890.0))
        #expect(try parse("100000000000000000000000") == .double(1e23))
    }

    @Test func negativeZeroKeepsItsSignAsDouble() throws {
        guard case .double(let value) = try parse("-0.0") else {
            Issue.record("expected a double")
            return
        }
        #expect(value == 0 && value.sign == .minus)
    }

    @Test func parsesStrings() throws {
        #expect(try parse(#""""#) == .string(""))
        #expect(try parse(#""heartRate""#) == .string("heartRate"))
        #expect(try parse(#""Apple Watch de Zoë 😀 中文""#) == .string("Apple Watch de Zoë 😀 中文"))
        let long = String(repeating: "abcdefghij", count: 100)
        #expect(try parse("\"\(long)\"") == .string(long))
    }

    @Test func decodesEscapes() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(try parse(#""a\u0041\u00e9\u00E9\u4e2d""#) == .string("aAéé中"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try parse(#""before \n after""#) == .string("before \n after"))
        #expect(try parse(#""Zoë\tü""#) == .string("Zoë\tü"))
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try parse(#""\uD83D\uDE00""#) == .string("😀"))
        #expect(try parse(#""x\ud83d\ude00y""#) == .string("x😀y"))
        #expect(try parse(#""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
        #expect(try parse(#""\uD800\uDC00""#) == .string("\u{10000}"))
    }

    @Test func parsesContainers() throws {
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object(JSONObject([])))
        #expect(try parse("[1, \"a\", null, true]") == .array([.integer(1), .string("a"), .null, .bool(true)]))
        #expect(try parse(#"{"a": 1, "b": [false]}"#) == object(("a", .integer(1)), ("b", .array([.bool(false)]))))
    }

    @Test func parsesNestedStructures() throws {
        let text = """
            {
              "samples": [
                {"type": "steps", "value": 1200, "meta": {"device": "watch", "tags": []}},
                {"type": "heartRate", "value": 72.5, "meta": {}}
              ],
              "count": 2,
              "next": null
            }
            """
        let expected = object(
            (
                "samples",
                .array([
                    object(
                        ("type", .string("steps")), ("value", .integer(1200)),
                        ("meta", object(("device", .string("watch")), ("tags", .array([]))))),
                    object(("type", .string("heartRate")), ("value", .double(72.5)), ("meta", object())),
                ])
            ),
            ("count", .integer(2)),
            ("next", .null)
        )
        #expect(try parse(text) == expected)
        let nested = JSONValue.array([.array([.array([.array([.array([])])])]), .array([.array([])]), object()])
        #expect(try parse("[[[[[]]]],[[]],{}]") == nested)
    }

    @Test func allowsSurroundingWhitespace() throws {
        #expect(try parse(" \t\r\n [ 1 , 2 ] \r\n\t ") == .array([.integer(1), .integer(2)]))
        #expect(try parse("\n{ \"a\" : 1 }\n") == object(("a", .integer(1))))
    }

    @Test func objectsKeepOrderAndDuplicates() throws {
        let value = try parse(#"{"b": 1, "a": 2, "b": 3}"#)
        guard case .object(let object) = value else {
            Issue.record("expected an object, got \(value.typeName)")
            return
        }
        #expect(object.keys == ["b", "a", "b"])
        #expect(object["b"] == .integer(3))
        #expect(object["a"] == .integer(2))
        #expect(object["missing"] == nil)
        #expect(object.members.count == 3)
    }

    @Test func objectEqualityIsOrderSensitive() {
        let ab = JSONObject([(key: "a", value: .integer(1)), (key: "b", value: .integer(2))])
        let ba = JSONObject([(key: "b", value: .integer(2)), (key: "a", value: .integer(1))])
        #expect(ab == ab)
        #expect(ab != ba)
        #expect(ab != JSONObject([(key: "a", value: .integer(1))]))
        #expect(JSONValue.integer(1) != .double(1))
    }

    @Test func parsesAnyCollectionOfBytes() throws {
        let text = #"{"value": [1, 2.5, "x"]}"#
        let expected = object(("value", .array([.integer(1), .double(2.5), .string("x")])))
        let parser = JSONParser()
        #expect(try parser.parse(Data(text.utf8)) == expected)
        #expect(try parser.parse(text.utf8) == expected)
        #expect(try parser.parse(Array(text.utf8)[...]) == expected)
        // Not contiguous: exercises the copying path.
        #expect(try parser.parse(text.utf8.lazy.map { $0 }) == expected)
    }

    @Test func skipsByteOrderMark() throws {
        #expect(try JSONParser().parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)) == .array([.integer(1)]))
        // Only at the very start.
        let error = try #require(parseError(Array("[1,".utf8) + [0xEF, 0xBB, 0xBF] + Array("2]".utf8)))
        let reason = "expected a JSON value after ',' in an array, found '\u{FEFF}' (U+FEFF)"
        #expect(error == JSONParseError(line: 1, column: 4, offset: 3, reason: reason))
        #expect(
            parseError([0xEF, 0xBB, 0xBF])
                == JSONParseError(
                    line: 1, column: 4, offset: 3, reason: "expected a JSON value, found end of input"))
    }

    // MARK: Errors

    /// A malformed document with the exact error it must produce.
    struct BadInput: Sendable, CustomTestStringConvertible {
        var bytes: [UInt8]
        var line: Int
        var column: Int
        var reason: String
        var testDescription: String

        init(_ text: String, line: Int = 1, _ column: Int, _ reason: String) {
            self.init(bytes: Array(text.utf8), line: line, column, reason, label: text.debugDescription)
        }

        init(bytes: [UInt8], line: Int = 1, _ column: Int, _ reason: String, label: String? = nil) {
            self.bytes = bytes
            self.line = line
            self.column = column
            self.reason = reason
            self.testDescription = label ?? bytes.map { String($0, radix: 16) }.joined(separator: " ")
        }
    }

    static let badInputs: [BadInput] = [
        // Empty input and stray characters.
        BadInput("", 1, "expected a JSON value, found end of input"),
        BadInput(" \n\t ", line: 2, 3, "expected a JSON value, found end of input"),
        BadInput("]", 1, "expected a JSON value, found ']'"),
        BadInput("'abc'", 1, "expected a JSON value, found \"'\""),
        BadInput("NaN", 1, "expected a JSON value, found 'N'"),
        BadInput("Infinity", 1, "expected a JSON value, found 'I'"),
        BadInput("True", 1, "expected a JSON value, found 'T'"),
        BadInput("// comment\n1", 1, "expected a JSON value, found '/'"),
        BadInput("[1] // comment", 5, "expected end of input after the JSON value, found '/'"),
        BadInput("[1, /* c */ 2]", 5, "expected a JSON value after ',' in an array, found '/'"),
        BadInput("\u{0}", 1, "expected a JSON value, found control character U+0000"),
        BadInput("é", 1, "expected a JSON value, found 'é' (U+00E9)"),
        // Literals.
        BadInput("tru", 4, "expected 'e' to complete 'true', found end of input"),
        BadInput("fals e", 5, "expected 'e' to complete 'false', found ' '"),
        BadInput("nul", 4, "expected 'l' to complete 'null', found end of input"),
        BadInput("[nil]", 3, "expected 'u' to complete 'null', found 'i'"),
        // Numbers.
        BadInput(
            "01", 2,
            "expected '.', 'e', 'E' or the end of the number after a leading '0', found '1' "
                + "(leading zeros are not allowed)"),
        BadInput(
            "-007", 3,
            "expected '.', 'e', 'E' or the end of the number after a leading '0', found '0' "
                + "(leading zeros are not allowed)"),
        BadInput("-", 2, "expected a digit after '-', found end of input"),
        BadInput("-a", 2, "expected a digit after '-', found 'a'"),
        BadInput("+1", 1, "expected a JSON value, found '+'"),
        BadInput(".5", 1, "expected a JSON value, found '.'"),
        BadInput("1.", 3, "expected a digit after '.' in a number, found end of input"),
        BadInput("1.e5", 3, "expected a digit after '.' in a number, found 'e'"),
        BadInput("1e", 3, "expected a digit in the exponent, found end of input"),
        BadInput("1e+", 4, "expected a digit in the exponent, found end of input"),
        BadInput("[1E-x]", 5, "expected a digit in the exponent, found 'x'"),
        BadInput("1e999", 1, "expected a finite number, found '1e999', which is out of range"),
        BadInput("[0, -1.5e400]", 5, "expected a finite number, found '-1.5e400', which is out of range"),
        BadInput("0x1F", 2, "expected end of input after the JSON value, found 'x'"),
        BadInput("1.5.3", 4, "expected end of input after the JSON value, found '.'"),
        // Strings.
        BadInput("\"abc", 5, "expected '\"' to close the string that starts at line 1, column 1, found end of input"),
        BadInput(
            "[\n  \"abc\\\"]", line: 2, 10,
            "expected '\"' to close the string that starts at line 2, column 3, found end of input"),
        BadInput(
            "\"a\nb\"", 3,
            "expected a string character or '\"', found unescaped control character U+000A "
                + "(write it as '\\n')"),
        BadInput(
            "\"a\tb\"", 3,
            "expected a string character or '\"', found unescaped control character U+0009 "
                + "(write it as '\\t')"),
        BadInput(
            "\"\u{1F}\"", 2,
            "expected a string character or '\"', found unescaped control character U+001F "
                + "(write it as '\\u001F')"),
        BadInput(
            #""a\x""#, 4,
            #"expected '"', '\', '/', 'b', 'f', 'n', 'r', 't' or 'u' after '\' in a string, "#
                + "found 'x'"),
        BadInput(
            #""\'""#, 3,
            #"expected '"', '\', '/', 'b', 'f', 'n', 'r', 't' or 'u' after '\' in a string, "#
                + #"found "'""#),
        BadInput(#""\u12G4""#, 6, #"expected 4 hex digits after '\u', found 'G'"#),
        BadInput(#""\u12""#, 6, #"expected 4 hex digits after '\u', found '"'"#),
        BadInput(
            #""\uD83D""#, 2,
            #"unpaired high surrogate '\uD83D': expected a low surrogate escape "#
                + #"('\uDC00'-'\uDFFF') after it, found '"'"#),
        BadInput(
            #""\uD83Dx""#, 2,
            #"unpaired high surrogate '\uD83D': expected a low surrogate escape "#
                + #"('\uDC00'-'\uDFFF') after it, found 'x'"#),
        BadInput(
            #""ab\uD83D\u0041""#, 4,
            #"unpaired high surrogate '\uD83D': expected a low surrogate escape "#
                + #"('\uDC00'-'\uDFFF') after it, found '\u0041'"#),
        BadInput(
            #""\uD83D\uD83D""#, 2,
            #"unpaired high surrogate '\uD83D': expected a low surrogate escape "#
                + #"('\uDC00'-'\uDFFF') after it, found '\uD83D'"#),
        BadInput(
            #""\uDE00\uD83D""#, 2,
            #"unpaired low surrogate '\uDE00': expected a high surrogate escape "#
                + #"('\uD800'-'\uDBFF') before it"#),
        // Invalid UTF-8 inside strings: the position is the first byte that makes the sequence invalid.
        BadInput(bytes: [0x22, 0xFF, 0x22], 2, "invalid UTF-8 in string: byte 0xFF cannot start a character"),
        BadInput(bytes: [0x22, 0x61, 0x80, 0x22], 3, "invalid UTF-8 in string: byte 0x80 cannot start a character"),
        BadInput(bytes: [0x22, 0xC0, 0xAF, 0x22], 2, "invalid UTF-8 in string: byte 0xC0 cannot start a character"),
        BadInput(
            bytes: [0x22, 0xC3, 0x28, 0x22], 3,
            "invalid UTF-8 in string: expected a byte in 0x80-0xBF to "
                + "continue the character starting with 0xC3, found byte 0x28"),
        BadInput(
            bytes: [0x22, 0xE0, 0x80, 0xAF, 0x22], 3,
            "invalid UTF-8 in string: expected a byte in 0xA0-0xBF "
                + "to continue the character starting with 0xE0, found byte 0x80"),
        BadInput(
            bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], 3,
            "invalid UTF-8 in string: expected a byte in 0x80-0x9F "
                + "to continue the character starting with 0xED, found byte 0xA0"),
        BadInput(
            bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 3,
            "invalid UTF-8 in string: expected a byte in "
                + "0x80-0x8F to continue the character starting with 0xF4, found byte 0x90"),
        BadInput(
            bytes: [0x22, 0xF0, 0x9F, 0x98, 0x22], 5,
            "invalid UTF-8 in string: expected a byte in 0x80-0xBF "
                + "to continue the character starting with 0xF0, found byte 0x22"),
        BadInput(
            bytes: [0x22, 0xE4, 0xB8], 4,
            "invalid UTF-8 in string: expected a byte in 0x80-0xBF to continue "
                + "the character starting with 0xE4, found end of input"),
        BadInput(
            bytes: Array("{\"k\": \"ok\\n".utf8) + [0xFE] + Array("\"}".utf8), 12,
            "invalid UTF-8 in string: byte 0xFE cannot start a character"),
        BadInput(bytes: [0xFF], 1, "expected a JSON value, found byte 0xFF"),
        // Arrays.
        BadInput("[", 2, "expected a JSON value or ']' after '[', found end of input"),
        BadInput("[,1]", 2, "expected a JSON value or ']' after '[', found ','"),
        BadInput("[1,]", 4, "expected a JSON value after ',' in an array, found ']'"),
        BadInput("[1 2]", 4, "expected ',' or ']' after an array element, found '2'"),
        BadInput("[1;2]", 3, "expected ',' or ']' after an array element, found ';'"),
        BadInput("[1", 3, "expected ',' or ']' after an array element, found end of input"),
        BadInput("[1}", 3, "expected ',' or ']' after an array element, found '}'"),
        // Objects.
        BadInput("{", 2, "expected a string key or '}' after '{', found end of input"),
        BadInput("{a: 1}", 2, "expected a string key or '}' after '{', found 'a'"),
        BadInput("{'a': 1}", 2, "expected a string key or '}' after '{', found \"'\""),
        BadInput("{1: 2}", 2, "expected a string key or '}' after '{', found '1'"),
        BadInput(#"{"a": 1,}"#, 9, "expected a string key after ',' in an object, found '}'"),
        BadInput(#"{"a" 1}"#, 6, "expected ':' after an object key, found '1'"),
        BadInput(#"{"a"}"#, 5, "expected ':' after an object key, found '}'"),
        BadInput(#"{"a":}"#, 6, "expected a JSON value after ':', found '}'"),
        BadInput(#"{"a": 1 "b": 2}"#, 9, "expected ',' or '}' after an object member, found '\"'"),
        BadInput(#"{"a": 1]"#, 8, "expected ',' or '}' after an object member, found ']'"),
        BadInput(#"{"a": 1"#, 8, "expected ',' or '}' after an object member, found end of input"),
        // Trailing garbage.
        BadInput("{} x", 4, "expected end of input after the JSON value, found 'x'"),
        BadInput("1 2", 3, "expected end of input after the JSON value, found '2'"),
        BadInput("[1]]", 4, "expected end of input after the JSON value, found ']'"),
        BadInput("truex", 5, "expected end of input after the JSON value, found 'x'"),
        BadInput("\"a\"\"b\"", 4, "expected end of input after the JSON value, found '\"'"),
        BadInput("null\n\n  ,", line: 3, 3, "expected end of input after the JSON value, found ','"),
        // Line counting: LF, CR LF and a lone CR each end a line.
        BadInput("[\r\n1,\r\n]", line: 3, 1, "expected a JSON value after ',' in an array, found ']'"),
        BadInput("[\r1,\r]", line: 3, 1, "expected a JSON value after ',' in an array, found ']'"),
    ]

    @Test(arguments: badInputs)
    func rejectsBadInput(_ input: BadInput) throws {
        let error = try #require(parseError(input.bytes))
        #expect(error.reason == input.reason)
        #expect(error.line == input.line)
        #expect(error.column == input.column)
        let lineStart = input.bytes[..<error.offset].lastIndex { $0 == 0x0A || $0 == 0x0D }.map { $0 + 1 } ?? 0
        #expect(error.offset - lineStart + 1 == error.column)
    }

    @Test func reportsMissingCloseBetweenObjectsInAPrettyPrintedDocument() throws {
        var lines = ["{", "  \"samples\": ["]
        for index in 0..<4 {
            lines += [
                "    {",
                "      \"type\": \"steps\",",
                "      \"value\": \(index * 100),",
                "      \"unit\": \"count\"",
                "    },",
            ]
        }
        // The fifth sample lacks its closing "}," so the sixth sample's "{" follows a member directly.
        lines += ["    {", "      \"type\": \"heartRate\",", "      \"value\": 72.5"]
        lines += ["    {", "      \"type\": \"steps\",", "      \"value\": 5", "    }", "  ]", "}"]
        #expect(lines[25] == "    {")
        let text = lines.joined(separator: "\n")
        let offset = lines[..<25].reduce(0) { $0 + $1.utf8.count + 1 } + 4

        let expected = JSONParseError(
            line: 26, column: 5, offset: offset, reason: "expected ',' or '}' after an object member, found '{'")
        #expect(throws: expected) {
            try JSONParser().parse(Array(text.utf8))
        }
        #expect(expected.description == "line 26, column 5: expected ',' or '}' after an object member, found '{'")
    }

    @Test func errorOffsetAtEndOfInputIsTheInputLength() throws {
        let error = try #require(parseError(Array("{\n  \"a\": [1,\n".utf8)))
        #expect(
            error
                == JSONParseError(
                    line: 3, column: 1, offset: 13,
                    reason: "expected a JSON value after ',' in an array, found end of input"))
    }

    // MARK: Depth

    @Test func rejectsHundredThousandNestedArrays() throws {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        let error = try #require(parseError(bytes))
        let reason = "expected at most 64 levels of nesting, found '[' opening level 65"
        #expect(error == JSONParseError(line: 1, column: 65, offset: 64, reason: reason))
    }

    @Test func rejectsDeepObjectsAndMixedNesting() throws {
        let objects = Array(String(repeating: "{\"a\":", count: 100_000).utf8)
        let error = try #require(parseError(objects))
        #expect(error.offset == 64 * 5)
        #expect(error.reason == "expected at most 64 levels of nesting, found '{' opening level 65")

        let mixed = Array(String(repeating: "[{\"k\": ", count: 50_000).utf8)
        #expect(parseError(mixed)?.reason == "expected at most 64 levels of nesting, found '[' opening level 65")
    }

    @Test func acceptsNestingUpToTheMaximumDepth() throws {
        let atLimit = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        var expected = JSONValue.array([])
        for _ in 1..<64 {
            expected = .array([expected])
        }
        #expect(try parse(atLimit) == expected)
        #expect(throws: JSONParseError.self) {
            try parse("[" + atLimit + "]")
        }
    }

    @Test func honoursACustomMaximumDepth() throws {
        #expect(try parse("1", maximumDepth: 0) == .integer(1))
        #expect(
            parseError(Array("[]".utf8), maximumDepth: 0)?.reason
                == "expected at most 0 levels of nesting, found '[' opening level 1")
        #expect(try parse("[[1]]", maximumDepth: 2) == .array([.array([.integer(1)])]))
        #expect(parseError(Array("[[{}]]".utf8), maximumDepth: 2)?.column == 3)

        let deep = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        guard case .array(let outer) = try parse(deep, maximumDepth: 5_000) else {
            Issue.record("expected an array")
            return
        }
        #expect(outer.count == 1)
    }

    // MARK: Descriptions

    @Test func typeNames() {
        #expect(JSONValue.null.typeName == "null")
        #expect(JSONValue.bool(true).typeName == "boolean")
        #expect(JSONValue.integer(1).typeName == "number")
        #expect(JSONValue.double(1.5).typeName == "number")
        #expect(JSONValue.string("").typeName == "string")
        #expect(JSONValue.array([]).typeName == "array")
        #expect(JSONValue.object(JSONObject([])).typeName == "object")
    }

    @Test func briefDescriptionRendersCompactJSON() throws {
        let value = try parse(#"{ "a" : [1, 2.5, true, null], "b\n\"" : "é\u0001" , "c": {} }"#)
        #expect(value.briefDescription == #"{"a":[1,2.5,true,null],"b\n\"":"é\u0001","c":{}}"#)
        #expect(JSONValue.string("x").briefDescription == #""x""#)
        #expect(JSONValue.integer(-3).briefDescription == "-3")
    }

    @Test func briefDescriptionIsCutAtSixtyCharacters() throws {
        let exactly60 = JSONValue.string(String(repeating: "a", count: 58))
        #expect(exactly60.briefDescription.count == 60)
        #expect(!exactly60.briefDescription.hasSuffix("…"))

        let long = JSONValue.string(String(repeating: "é", count: 1_000))
        #expect(long.briefDescription == "\"" + String(repeating: "é", count: 58) + "…")

        let bigArray = JSONValue.array(Array(repeating: .integer(12345), count: 100_000))
        let brief = bigArray.briefDescription
        #expect(brief.count == 60)
        #expect(brief.hasPrefix("[12345,12345,"))
        #expect(brief.hasSuffix("…"))

        var deep = JSONValue.null
        for _ in 0..<1_000 {
            deep = .array([deep])
        }
        #expect(deep.briefDescription == String(repeating: "[", count: 59) + "…")
    }
}
