import HealthSyncAudit
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
