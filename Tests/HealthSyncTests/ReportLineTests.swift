import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// The JSON Lines form of push reports that `replay` takes (``ReportLine``).
@Suite struct ReportLineTests {
    static func line(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func decodesEachKindWithItsTime() throws {
        let crisp = try ReportLine.decode(
            Self.line(
                #"{"report":"crisp","received_at":1700000000,"service_id":"web","node_id":"n","body":{"replica_id":"a","interval":"30"}}"#
            ))
        #expect(crisp.receivedAt == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(
            crisp.report == .status(StatusReport(serviceId: "web", nodeId: "n", replicaId: "a", interval: 30)))
        let vigil = try ReportLine.decode(
            Self.line(
                #"{"report":"vigil","received_at":"2023-11-14T22:13:20Z","service_id":"web","node_id":"n","body":{"replica":"b","interval":5,"health":"sick"}}"#
            ))
        #expect(vigil.receivedAt == Date(timeIntervalSince1970: 1_700_000_000))
        let metrics = try ReportLine.decode(
            Self.line(#"{"report":"metrics","received_at":1.5,"body":{"service":"S","metrics":{"cpu_percent":1}}}"#))
        #expect(metrics.report == .metrics(MetricReport(service: "S", values: [.cpuPercent: 1])))
        let envelope = ReportTranslation().envelope(for: metrics)
        #expect(envelope.collectionTimestamp == Date(timeIntervalSince1970: 1.5))
        #expect(envelope.messages.first?.stream.urn == "urn:health:metrics:s")
    }

    @Test func aReportLineStartsWithTheReportKey() {
        #expect(ReportLine.isReportLine(Self.line(#" { "report" : "crisp"}"#)))
        #expect(!ReportLine.isReportLine(Self.line(#"{"health":[],"report":"crisp"}"#)))
        #expect(!ReportLine.isReportLine(Self.line(#"{"rep"#)))
    }

    @Test(arguments: [
        (#"{"report":"pager","received_at":1,"body":{}}"#, "$.report"),
        (#"{"report":"crisp","body":{}}"#, "$.received_at"),
        (#"{"report":"crisp","received_at":"yesterday","body":{}}"#, "$.received_at"),
        (#"{"report":"crisp","received_at":1,"body":[]}"#, "$.body"),
        (#"{"report":"crisp","received_at":1,"node_id":"n","body":{}}"#, "$.service_id"),
        (#"{"report":"crisp","received_at":1,"service_id":"a b","node_id":"n","body":{}}"#, "$.service_id"),
        (
            #"{"report":"crisp","received_at":1,"service_id":"s","node_id":"n","body":{"replica_id":"a"}}"#,
            "$.body.interval"
        ),
        (
            #"{"report":"metrics","received_at":1,"body":{"service":"s","metrics":{"cpu_percent":900}}}"#,
            "$.body.metrics.cpu_percent"
        ),
    ])
    func aBadLineNamesThePathInTheLine(text: String, path: String) {
        #expect {
            try ReportLine.decode(Self.line(text))
        } throws: { error in
            (error as? PayloadError)?.path == path && (error as? PayloadError)?.code == .invalidReport
        }
    }

    /// A replay of report lines is deterministic: run twice into fresh stores, or again into the same one (whose
    /// receipts skip every line), it gives the same state; a bad line is a rejection with its line and path.
    @Test(arguments: StoreKind.inMemoryKinds)
    func reportsReplayDeterministically(kind: StoreKind) async throws {
        let text = """
            {"report": "crisp", "received_at": 1000, "service_id": "web", "node_id": "n", "body": {"replica_id": "a", "interval": 60}}
            {"report": "crisp", "received_at": 1010, "service_id": "web", "node_id": "n", "body": {"replica_id": "a"}}
            {"report": "vigil", "received_at": 1200, "service_id": "web", "node_id": "n", "body": {"replica": "b", "interval": 60}}
            """
        let source = Replayer.Source(name: "reports.jsonl", bytes: Array(text.utf8))
        var states: [[StoredCheckState]] = []
        let store = try kind.makeStore()
        for target in [store, try kind.makeStore(), store] {
            let outcome = try await Replayer(processor: HealthProcessor(store: target)).replay(
                [source], until: Date(timeIntervalSince1970: 1_250))
            #expect(
                outcome.rejections.map(\.description) == [
                    "reports.jsonl:2: $.body.interval: is required: the seconds until the next report"
                ])
            states.append(try await target.allCheckStates())
        }
        #expect(states[0] == states[1] && states[1] == states[2])
        #expect(states[0].map(\.checkState.health) == [.critical, .clear], "a silent since 1000, b reported at 1200")
    }
}

/// Seeded mutations of valid report bodies and lines: every decoder returns a report or throws a ``PayloadError``
/// with a path, never crashes or hangs.
@Suite struct ReportFuzzTests {
    static let seeds = [
        #"{"replica_id":"a","interval":"30","load":{"cpu":0.42,"ram":"0.31"},"health":"sick"}"#,
        #"{"api_key":"k","service":"API Gateway","metrics":{"error_rate":2.5,"request_count":10,"error_count":1}}"#,
        #"{"report":"vigil","received_at":1700000000,"service_id":"s","node_id":"n","body":{"replica":"r","interval":5}}"#,
    ]

    @Test func mutatedReportsDecodeOrFailWithAPath() {
        var random = SeededRandom(seed: 17)
        var decoded = 0
        var failed = 0
        for _ in 0..<3_000 {
            var bytes = Array(random.element(of: Self.seeds).utf8)
            for _ in 0..<(1 + random.below(3)) {
                guard !bytes.isEmpty else { break }
                let index = random.below(bytes.count)
                switch random.below(3) {
                case 0: bytes[index] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.remove(at: index)
                default: bytes.insert(random.element(of: Array(#"{}[]":,0.-e"\"#.utf8)), at: index)
                }
            }
            for attempt in 0..<3 {
                do throws(PayloadError) {
                    switch attempt {
                    case 0: _ = try StatusReport.decode(bytes, protocol: .crisp, serviceId: "s", nodeId: "n")
                    case 1: _ = try MetricReport.decode(bytes)
                    default: _ = try ReportLine.decode(bytes)
                    }
                    decoded += 1
                } catch {
                    failed += 1
                    #expect(error.path.hasPrefix("$"), "\(error)")
                    #expect(!error.reason.isEmpty)
                }
            }
        }
        #expect(decoded > 0 && failed > 0)
    }
}
