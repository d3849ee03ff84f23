import CoreMetrics
import HTTPTypes
import HealthSync
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HealthSyncHTTP

/// The families of a Prometheus text exposition, read the way a scraper reads it.
struct PrometheusExposition {
    /// The family names in the order of their `# TYPE` lines (a name twice means a family split in two).
    var typed: [String] = []
    /// The family names that have a non-empty `# HELP` line.
    var helped: Set<String> = []
    /// Names of samples that belong to no family declared before them.
    var orphans: [String] = []

    init(_ text: String) {
        var current: String?
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 3)
            if words.first == "#" {
                guard words.count >= 3 else { continue }
                let name = String(words[2])
                if words[1] == "TYPE" {
                    typed.append(name)
                    current = name
                } else if words[1] == "HELP", words.count == 4, !words[3].isEmpty {
                    helped.insert(name)
                }
                continue
            }
            let sample = String(line.prefix { $0 != "{" && $0 != " " })
            let histogramParts = ["_bucket", "_sum", "_count"].map { (current ?? "") + $0 }
            if sample != current && !histogramParts.contains(sample) { orphans.append(sample) }
        }
    }
}

@Suite struct MetricsExpositionTests {
    @Test func readsFamiliesHelpAndOrphansOfAnExposition() {
        let exposition = PrometheusExposition(
            """
            # HELP a_total A.
            # TYPE a_total counter
            a_total{x="1"} 1
            # TYPE b_seconds histogram
            b_seconds_bucket{le="1"} 0
            b_seconds_sum 0
            b_seconds_count 0
            # TYPE a_total counter
            c_total 2
            """
        )
        #expect(exposition.typed == ["a_total", "b_seconds", "a_total"])
        #expect(exposition.helped == ["a_total"])
        #expect(exposition.orphans == ["c_total"])
    }

    @Test func documentsEveryFamilyOnceWithTheProcessorsCountersToo() async throws {
        let harness = try Harness()
        // What `serve` routes into the registry with `bootstrapMetricsSystem()`: the processor's own counters.
        let factory = DocumentedMetricsFactory(registry: harness.metrics.registry)
        let processorCounters = [
            "healthsync_envelopes_applied_total", "healthsync_messages_rejected_total",
            "healthsync_check_states_created_total", "healthsync_check_states_updated_total",
            "healthsync_check_states_deleted_total", "healthsync_errors_opened_total", "healthsync_timers_fired_total",
        ]
        for name in processorCounters {
            CoreMetrics.Counter(label: name, factory: factory).increment()
        }
        CoreMetrics.Counter(label: "some_library_total", dimensions: [("kind", "a")], factory: factory).increment()
        try await harness.test { client async throws in
            try await client.postEnvelope(Payload.envelope([Payload.snapshot("urn:health:a:b", states: [])]))
            try await client.postEnvelope("{")
            _ = try await client.execute(uri: "/nope", method: .get)
            let response = try await client.execute(uri: "/metrics", method: .get)
            let exposition = PrometheusExposition(response.text)
            #expect(exposition.typed.count >= 10)
            #expect(Set(exposition.typed).count == exposition.typed.count, "a family split in two: \(exposition.typed)")
            #expect(Set(exposition.typed).subtracting(exposition.helped).isEmpty)
            #expect(exposition.orphans.isEmpty)
            #expect(exposition.typed.contains("healthsync_http_request_duration_seconds"))
            #expect(exposition.typed.contains("healthsync_envelopes_applied_total"))
            #expect(exposition.helped.contains("some_library_total"))
        }
    }
}
