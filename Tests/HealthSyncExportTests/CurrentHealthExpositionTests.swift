import Foundation
import HealthSync
import HealthSyncExport
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// The text of `GET /metrics/health` over each in-memory store kind.
@Suite struct CurrentHealthExpositionTests {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    /// A store with two streams: one with check states in main and in a sub-stream, one with an open error.
    static func store(_ kind: StoreKind) async throws -> any HealthStoreQueries {
        let store = try kind.makeStore()
        let processor = HealthProcessor(store: store)
        let decoder = EnvelopeDecoder()
        let envelope = Payload.envelope([
            Payload.snapshot(
                "urn:health:a:b",
                states: [
                    Payload.checkState("disk", health: "CRITICAL", element: "host \"1\""),
                    Payload.checkState("cpu", health: "DEVIATING", element: "host\\2"),
                    Payload.checkState("mem", health: "CLEAR", element: "ünï code"),
                ]),
            Payload.snapshot(
                "urn:health:a:b", subStream: "s1", expiryInterval: 600,
                states: [Payload.checkState("net", health: "CLEAR")]),
            // Check states of a stream that was never set up: StreamMissingSubStream (ERROR).
            Payload.snapshot(
                "urn:health:c:d", start: false, stop: false, states: [Payload.checkState("x")], model: true),
        ])
        try await processor.apply(try decoder.decode(Array(envelope.utf8)), at: start)
        return store
    }

    static func exposition(
        _ store: any HealthStoreQueries, format: MetricsTextFormat, pageSize: Int = 2000
    ) async throws -> String {
        var text = ""
        let exposition = CurrentHealthExposition(format: format, pageSize: pageSize, chunkBytes: 16)
        try await exposition.write(from: store) { text += $0 }
        return text
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func writesEveryCheckStateAndOpenErrorWithHelpAndType(kind: StoreKind) async throws {
        let store = try await Self.store(kind)
        let text = try await Self.exposition(store, format: .prometheus)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "# HELP healthsync_check_state_health Health of a check state: 0 CLEAR, 1 DEVIATING, 2 CRITICAL.",
                "# TYPE healthsync_check_state_health gauge",
                #"healthsync_check_state_health{urn="urn:health:a:b",sub_stream="",check_state="cpu",element="host\\2"} 1"#,
                #"healthsync_check_state_health{urn="urn:health:a:b",sub_stream="",check_state="disk",element="host \"1\""} 2"#,
                #"healthsync_check_state_health{urn="urn:health:a:b",sub_stream="",check_state="mem",element="ünï code"} 0"#,
                #"healthsync_check_state_health{urn="urn:health:a:b",sub_stream="s1",check_state="net",element="element-net"} 0"#,
                "# HELP healthsync_stream_errors Open errors of a stream or sub-stream: how many times each was raised.",
                "# TYPE healthsync_stream_errors gauge",
                #"healthsync_stream_errors{urn="urn:health:c:d",sub_stream="",code="StreamMissingSubStream",level="ERROR"} 1"#,
            ])
        #expect(try await Self.exposition(store, format: .prometheus, pageSize: 1) == text, "pages join seamlessly")
        let openMetrics = try await Self.exposition(store, format: .openMetrics, pageSize: 3)
        #expect(openMetrics == text + "# EOF\n")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func anEmptyStoreWritesTheFamiliesOnly(kind: StoreKind) async throws {
        let text = try await Self.exposition(try kind.makeStore(), format: .openMetrics)
        #expect(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.isEmpty)
        #expect(text.hasSuffix("# TYPE healthsync_stream_errors gauge\n# EOF\n"))
    }
}
