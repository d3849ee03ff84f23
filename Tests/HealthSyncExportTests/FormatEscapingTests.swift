import Foundation
import HealthSync
import HealthSyncExport
import Testing

/// Label values, tag values, field strings and OpenTSDB names as each format requires them.
@Suite struct FormatEscapingTests {
    @Test func prometheusLabelValuesEscapeBackslashQuoteAndLineFeedOnly() {
        #expect(MetricsTextFormat.escapeLabelValue(#"a"b\c"# + "\nd") == #"a\"b\\c\nd"#)
        #expect(MetricsTextFormat.escapeLabelValue("urn:health:été:流") == "urn:health:été:流")
        #expect(MetricsTextFormat.escapeLabelValue("tab\tcr\r") == "tab\tcr\r")
        #expect(MetricsTextFormat.escapeLabelValue("") == "")
    }

    @Test func sampleLinesCarryTimestampsInEachFormatsUnit() {
        var prometheus = ""
        MetricsTextFormat.prometheus.appendSample(
            "m", labels: ["a": "x\"y", "b": ""], value: 2, milliseconds: 1_700_000_000_250, to: &prometheus)
        #expect(prometheus == "m{a=\"x\\\"y\",b=\"\"} 2 1700000000250\n")
        var openMetrics = ""
        MetricsTextFormat.openMetrics.appendSample(
            "m", labels: ["a": "1"], value: -1, milliseconds: 1_700_000_000_005, to: &openMetrics)
        #expect(openMetrics == "m{a=\"1\"} -1 1700000000.005\n")
        var scrape = ""
        MetricsTextFormat.openMetrics.appendSample("m", labels: ["a": "1"], value: 0, to: &scrape)
        #expect(scrape == "m{a=\"1\"} 0\n")
    }

    @Test func helpTextIsEscapedAsEachFormatSays() {
        var prometheus = ""
        MetricsTextFormat.prometheus.appendGaugeFamily("m", help: "a \"b\" \\ c\nd", to: &prometheus)
        #expect(prometheus == "# HELP m a \"b\" \\\\ c\\nd\n# TYPE m gauge\n")
        var openMetrics = ""
        MetricsTextFormat.openMetrics.appendGaugeFamily("m", help: "a \"b\"", to: &openMetrics)
        #expect(openMetrics == "# HELP m a \\\"b\\\"\n# TYPE m gauge\n")
    }

    @Test(
        arguments: [
            (nil, MetricsTextFormat.prometheus),
            ("text/plain", .prometheus),
            ("*/*", .prometheus),
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                    + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .openMetrics
            ),
            ("application/openmetrics-text", .openMetrics),
            ("Application/OpenMetrics-Text; version=1.0.0", .openMetrics),
            ("application/openmetrics-text;q=0", .prometheus),
            ("text/plain;q=1,application/openmetrics-text;q=0.5", .prometheus),
        ] as [(String?, MetricsTextFormat)])
    func acceptChoosesTheFormat(accept: String?, format: MetricsTextFormat) {
        #expect(MetricsTextFormat(accept: accept) == format)
    }

    @Test func influxTagValuesEscapeSeparatorsAndStayParseable() {
        #expect(InfluxLineProtocol.escapeTagValue("a,b=c d") == #"a\,b\=c\ d"#)
        #expect(InfluxLineProtocol.escapeTagValue("urn:health:été") == "urn:health:été")
        #expect(InfluxLineProtocol.escapeTagValue(#"back\slash"#) == #"back\slash"#)
        #expect(InfluxLineProtocol.escapeTagValue("two\nlines\r") == #"two\nlines\r"#)
        #expect(InfluxLineProtocol.escapeTagValue(#"ends\"#) == #"ends\\ "#)
        #expect(InfluxLineProtocol.escapeTagValue(#"quote"d"#) == #"quote"d"#)
    }

    @Test func influxFieldStringsEscapeQuoteAndBackslash() {
        #expect(InfluxLineProtocol.quoteFieldString(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(InfluxLineProtocol.quoteFieldString("ü\n") == "\"ü\n\"")
    }

    @Test func influxLinesLeaveOutEmptyTagsAndWriteNanoseconds() {
        let main = HealthSample(
            series: HealthSeries(urn: "urn:health:a:b", subStreamId: "", checkStateId: "disk", element: ""),
            value: 2, at: Date(timeIntervalSince1970: 1_700_000_000.25))
        #expect(
            InfluxLineProtocol.line(main)
                == "health,urn=urn:health:a:b,check_state=disk value=2i,health=\"CRITICAL\" 1700000000250000000\n")
        let deleted = HealthSample(
            series: HealthSeries(urn: "urn:x", subStreamId: "s 1", checkStateId: "c", element: "e"),
            value: HealthSample.deleted, at: Date(timeIntervalSince1970: 1))
        #expect(
            InfluxLineProtocol.line(deleted)
                == "health,urn=urn:x,sub_stream=s\\ 1,check_state=c,element=e value=-1i,health=\"DELETED\" "
                + "1000000000\n")
    }

    @Test(arguments: [
        "urn:health:src:disk_1", "plain-name./x", "", "_", "__5F", "ünïcødé 流", "a\"b\\c\nd", "%3A",
    ])
    func openTSDBNamesAreReversible(text: String) throws {
        let encoded = OpenTSDBNames.encode(text)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./".utf8)
        #expect(encoded.utf8.allSatisfy(allowed.contains))
        #expect(OpenTSDBNames.decode(encoded) == text)
    }

    @Test func openTSDBNamesEncodeColonsAndUnderscores() {
        #expect(OpenTSDBNames.encode("urn:health:src:disk_1") == "urn_3Ahealth_3Asrc_3Adisk_5F1")
        #expect(OpenTSDBNames.encode("é") == "_C3_A9")
        #expect(OpenTSDBNames.decode("a_3") == nil)
        #expect(OpenTSDBNames.decode("a_zz") == nil)
        #expect(OpenTSDBNames.decode("a:b") == nil)
        #expect(OpenTSDBNames.decode("_FF") == nil, "not UTF-8")
    }
}
