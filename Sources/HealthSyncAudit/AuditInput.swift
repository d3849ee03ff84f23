import Foundation
import HealthSync

/// What an audit analyses: the event record, what the store knows of the streams (models, declared intervals,
/// open errors), the validation findings of a replay, and the period.
///
/// Build one from a store with ``load(from:source:urn:since:until:)``, or from payload files with
/// ``replay(_:decoder:configuration:start:urn:since:until:)``, which replays them into an ``InMemoryHealthStore``
/// first; or assemble one by hand (events sorted by time, then sequence).
public struct AuditInput: Sendable {
    /// What was audited, for the report's header.
    public var source: String
    /// Events up to ``period``'s end, in record order (time, then sequence). Events before the period's start
    /// only set up the baseline (the check states alive, open errors, the last completed snapshot, the flap
    /// history).
    public var events: [HealthEvent]
    /// The audited period.
    public var period: AuditReport.Period
    /// The consistency model of each stream the store holds.
    public var consistencyModels: [String: ConsistencyModel]
    /// The declared intervals of each sub-stream, when known.
    public var intervals: [StreamKey: Intervals]
    /// The error records open at the end of the period (their aggregated counts), when the period ends at the
    /// store's clock; empty otherwise.
    public var openErrors: [ErrorRecord]
    /// Validation findings of a replay.
    public var findings: [AuditReport.Finding]

    /// Creates an input.
    public init(
        source: String,
        events: [HealthEvent],
        period: AuditReport.Period,
        consistencyModels: [String: ConsistencyModel] = [:],
        intervals: [StreamKey: Intervals] = [:],
        openErrors: [ErrorRecord] = [],
        findings: [AuditReport.Finding] = []
    ) {
        self.source = source
        self.events = events
        self.period = period
        self.consistencyModels = consistencyModels
        self.intervals = intervals
        self.openErrors = openErrors
        self.findings = findings
    }
}

extension AuditInput {
    /// Reads what an audit needs from a store.
    ///
    /// The period runs from `since` (at the earliest the start of the retained event window, see
    /// ``EventRetention/windowStart(of:clock:)``) to `until` (by default the store's clock).
    /// - Parameters:
    ///   - store: the store.
    ///   - source: how the report names it.
    ///   - urn: audit only this stream.
    ///   - since: the start of the audited period.
    ///   - until: the end of the audited period.
    /// - Throws: ``HealthSync/StorageError``.
    public static func load(
        from store: any HealthStoreQueries,
        source: String,
        urn: String? = nil,
        since: Date? = nil,
        until: Date? = nil
    ) async throws -> AuditInput {
        let clock = try await store.clock()
        let end = until ?? clock
        let events = try await store.events(EventQuery(urn: urn, until: end))
        let windowStart = EventRetention.windowStart(of: events, clock: clock)
        let to = end ?? events.last?.at ?? Date(timeIntervalSince1970: 0)
        var from = max(since ?? windowStart ?? to, windowStart ?? to)
        from = min(from, to)

        var models: [String: ConsistencyModel] = [:]
        var intervals: [StreamKey: Intervals] = [:]
        var openErrors: [ErrorRecord] = []
        let urns: [String]
        if let urn {
            urns = [urn]
        } else {
            urns = try await store.streams().map(\.urn)
        }
        let atClock = clock.map { to >= $0 } ?? true
        for urn in urns {
            guard let stream = try await store.stream(urn) else { continue }
            models[urn] = stream.consistencyModel
            for record in try await store.subStreams(of: urn) {
                if let declared = record.intervals { intervals[record.key] = declared }
            }
            if atClock { openErrors += try await store.errors(of: urn) }
        }
        return AuditInput(
            source: source,
            events: events,
            period: AuditReport.Period(from: from, to: to),
            consistencyModels: models,
            intervals: intervals,
            openErrors: openErrors
        )
    }

    /// Replays payload files into an ``InMemoryHealthStore`` (SPEC §7, as `healthsync replay` does) and reads what
    /// an audit needs from it, with the replay's validation findings.
    ///
    /// The period runs from `since` (by default the first event) to `until` (by default the clock after the last
    /// envelope). Declared intervals of sub-streams that no longer exist at the end (expired, deleted) are taken
    /// from the payloads' latest `start_snapshot` or `expiry`.
    /// - Parameters:
    ///   - sources: the payload files, in replay order.
    ///   - decoder: the decoder (strict or not).
    ///   - configuration: the processor's settings (`lateGrace`).
    ///   - start: advance the clock to this time before the first envelope.
    ///   - urn: audit only this stream (all are replayed).
    ///   - since: the start of the audited period.
    ///   - until: advance the clock to this time after the last envelope, and end the period there.
    /// - Throws: ``HealthSync/StorageError`` (not expected from the in-memory store).
    public static func replay(
        _ sources: [Replayer.Source],
        decoder: EnvelopeDecoder = EnvelopeDecoder(),
        configuration: HealthProcessor.Configuration = HealthProcessor.Configuration(),
        start: Date? = nil,
        urn: String? = nil,
        since: Date? = nil,
        until: Date? = nil
    ) async throws -> AuditInput {
        let store = InMemoryHealthStore()
        let processor = HealthProcessor(store: store, configuration: configuration)
        let replayer = Replayer(processor: processor, decoder: decoder, fallbackClock: FixedClock())
        let outcome = try await replayer.replay(sources, start: start, until: until)
        let name = sources.count == 1 ? sources[0].name : "\(sources.count) payload files"
        var input = try await load(from: store, source: name, urn: urn, since: since)
        input.findings =
            outcome.rejections.map { AuditReport.Finding($0, severity: .rejection) }
            + outcome.warnings.map { AuditReport.Finding($0, severity: .warning) }

        let named = Set(input.events.map { StreamKey(urn: $0.urn, subStreamId: $0.subStreamId) })
        let missing = named.subtracting(input.intervals.keys)
        if !missing.isEmpty {
            for (key, intervals) in declaredIntervals(in: sources, decoder: decoder) where missing.contains(key) {
                input.intervals[key] = intervals
            }
        }
        return input
    }

    /// The latest intervals each sub-stream declared in the payloads (`start_snapshot` or `expiry`).
    static func declaredIntervals(in sources: [Replayer.Source], decoder: EnvelopeDecoder) -> [StreamKey: Intervals] {
        var declared: [StreamKey: Intervals] = [:]
        for source in sources {
            let jsonLines = PayloadFile.isJSONLinesName(source.name) ? true : nil
            for entry in PayloadFile.entries(in: source.bytes, jsonLines: jsonLines) {
                guard let envelope = try? decoder.decode(entry.bytes) else { continue }
                for message in envelope.messages {
                    if let intervals = message.startSnapshot ?? message.expiry { declared[message.stream] = intervals }
                }
            }
        }
        return declared
    }

    /// The time of envelopes without `collection_timestamp` before the clock was ever set: the epoch, so that an
    /// audit never depends on the wall clock.
    struct FixedClock: HealthClock {
        var now: Date { Date(timeIntervalSince1970: 0) }
    }
}
