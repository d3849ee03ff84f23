import HealthSyncAudit
import HealthSyncConsole
import Testing

@Suite struct TextTableTests {
    @Test func padsColumnsAndWritesDashForAbsentValues() {
        var table = TextTable(headers: ["NAME", "HEALTH", "MESSAGE"])
        table.append(["a-long-name", "CLEAR", nil])
        table.append(["b", nil, "two\nlines"])
        #expect(
            table.render() == """
                NAME         HEALTH  MESSAGE
                a-long-name  CLEAR   -
                b            -       two lines
                """
        )
    }
}

/// Values from remote sources reach a terminal written out, and tables align by the columns a terminal shows.
@Suite struct TerminalTextTests {
    @Test func controlCharactersAreWrittenOutInTables() {
        var table = TextTable(headers: ["NAME", "MESSAGE"])
        table.append(["red\u{1B}[31mtext", "tab\there"])
        table.append(["title\u{1B}]0;owned\u{07}", "bidi\u{202E}txet \u{9B}2J"])
        let rendered = table.render()
        #expect(!rendered.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(!rendered.unicodeScalars.contains { (0x7F...0x9F).contains($0.value) || $0.value == 0x202E })
        #expect(
            rendered == #"""
                NAME                      MESSAGE
                red\u{1B}[31mtext         tab\there
                title\u{1B}]0;owned\u{7}  bidi\u{202E}txet \u{9B}2J
                """#
        )
    }

    @Test func wideAndCombiningCharactersAlignByTheirColumns() {
        var table = TextTable(headers: ["NAME", "HEALTH"])
        table.append(["ディスク", "CLEAR"])
        table.append(["cafe\u{301}", "CRITICAL"])
        table.append(["db", "DEVIATING"])
        #expect(
            table.render() == """
                NAME      HEALTH
                ディスク  CLEAR
                cafe\u{301}      CRITICAL
                db        DEVIATING
                """
        )
        #expect(TerminalText.width("ディスク") == 8)
        #expect(TerminalText.width("e\u{301}") == 1)
        #expect(TerminalText.width("🔥ok") == 4)
        #expect(TerminalText.width("plain") == 5)
    }

    @Test func plainTextAndLineFeedsAreKept() {
        #expect(TerminalText.escaped("disk 90% full\nsee C:\\logs") == "disk 90% full\nsee C:\\logs")
        #expect(TerminalText.escaped("a\r\nb\u{0}c") == "a\\r\nb\\u{0}c")
    }
}
