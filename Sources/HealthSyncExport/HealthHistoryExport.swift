import Foundation
import HealthSync

/// The formats ``HealthHistoryExport`` writes.
public enum HealthExportFormat: String, Sendable, Hashable, CaseIterable {
    /// OpenMetrics text with timestamps and `# EOF`, as `promtool tsdb create-blocks-from openmetrics` takes it.
    case openMetrics = "openmetrics"
    /// InfluxDB 1.x line protocol (``InfluxLineProtocol``).
    case influx
    /// The JSON array of OpenTSDB's `/api/put` (``OpenTSDBNames``).
    case openTSDB = "opentsdb"

    /// Time units per second of the format's timestamps: samples of one series within one unit are written once,
    /// with the last value.
    var unitsPerSecond: Int64 {
        switch self {
        case .openMetrics: 1000
        case .influx: 1_000_000_000
        case .openTSDB: 1
        }
    }

    /// `date` in the format's units: milliseconds rounded, nanoseconds rounded to the microsecond, whole seconds
    /// rounded down.
    func units(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970
        switch self {
        case .openMetrics: return Int64((seconds * 1000).rounded())
        case .influx: return InfluxLineProtocol.nanoseconds(date)
        case .openTSDB: return Int64(seconds.rounded(.down))
        }
    }
}

/// How far an export got: for a progress line.
public struct HealthExportProgress: Sendable, Hashable {
    /// Events read so far.
    public var events: Int
    /// Samples written so far.
    public var samples: Int
    /// The time of the latest event read.
    public var at: Date?
}

/// Health over time from the event record (SPEC §6 events) in a time-series format: every change of every check
/// state at its time.
///
/// - A check state's creation and every change of its health write its value (0 CLEAR, 1 DEVIATING, 2 CRITICAL);
///   an update that leaves the health and the element as they were writes nothing.
/// - A deletion writes ``HealthSample/deleted`` (-1) at its time and ends the series: a consumer that carries the
///   last value forward (InfluxDB's `fill(previous)`, Grafana's state timeline, OpenTSDB) sees the check state
///   gone instead of stuck at its last health, and in Prometheus `max(...) == 2` stops matching at the deletion.
/// - A change of a check state's element ends the series of the old element the same way and starts another.
/// - With ``since``, the state at that time is computed from the events before it (held as one value per live check
///   state) and every live check state is written at ``since`` first.
/// - With ``step``, every live series is written again at each multiple of the step (from 1970) between its changes,
///   up to ``until`` (or the store's clock): Prometheus sees a series only for 5 minutes (its lookback) after a
///   sample, so a backfill for Prometheus needs a step below that.
/// - Changes of one series within one unit of the format's timestamps (1 ms, 1 µs, 1 s) are written once, with
///   the last value.
///
/// Events are read a page at a time (``HealthStoreQueries/events(_:after:limit:)``), in record order, and the text
/// is handed on in chunks: memory holds a page, a chunk and one value per live check state, never the history.
public struct HealthHistoryExport: Sendable {
    /// The format written.
    public var format: HealthExportFormat
    /// Only this stream; every stream when `nil`.
    public var urn: String?
    /// The start: events at or after it; the state at it is written first.
    public var since: Date?
    /// The end: events at or before it.
    public var until: Date?
    /// The interval at which live series are written again between changes, in seconds; `nil` for changes only.
    public var step: TimeInterval?
    /// Events per read.
    public var pageSize: Int
    /// The size from which a chunk of text is handed on.
    public var chunkBytes: Int

    /// Creates an export.
    /// - Parameters:
    ///   - format: the format written.
    ///   - urn: only this stream.
    ///   - since: events at or after this time, after the state at it.
    ///   - until: events at or before this time.
    ///   - step: repeat live series at this interval (seconds, above 0); `nil` for changes only.
    ///   - pageSize: events per read (at least 1).
    ///   - chunkBytes: the size from which a chunk of text is handed on.
    public init(
        format: HealthExportFormat,
        urn: String? = nil,
        since: Date? = nil,
        until: Date? = nil,
        step: TimeInterval? = nil,
        pageSize: Int = 5000,
        chunkBytes: Int = 256 << 10
    ) {
        self.format = format
        self.urn = urn
        self.since = since
        self.until = until
        self.step = step.flatMap { $0 > 0 ? $0 : nil }
        self.pageSize = max(1, pageSize)
        self.chunkBytes = max(1, chunkBytes)
    }

    /// Reads the event record of `store` and writes the export.
    /// - Parameters:
    ///   - store: the store read.
    ///   - write: called with each chunk of text, in order.
    ///   - progress: called after each page of events.
    /// - Returns: how many events were read and samples written.
    /// - Throws: ``HealthSync/StorageError`` when a read fails; whatever `write` throws.
    @discardableResult
    public func run(
        from store: any HealthStoreQueries,
        to write: (String) async throws -> Void,
        progress: (HealthExportProgress) -> Void = { _ in }
    ) async throws -> HealthExportProgress {
        var writer = SampleWriter(format: format, chunkBytes: chunkBytes)
        var live = LiveSeries()
        var counts = HealthExportProgress(events: 0, samples: 0, at: nil)
        writer.begin()
        if let since {
            // The state at `since`: every event before it, applied without writing.
            try await forEachPage(of: store, EventQuery(urn: urn, until: since)) { page in
                for event in page where event.at < since {
                    _ = live.apply(event)
                }
                return true
            }
            writer.stage(time: format.units(since), live: live)
        }
        try await forEachPage(of: store, EventQuery(urn: urn, since: since, until: until)) { page in
            for event in page {
                counts.events += 1
                counts.at = event.at
                guard event.checkState != nil else { continue }
                // What is due before the event is written with the values before it.
                let time = format.units(event.at)
                try await writer.advance(to: time, live: live, step: stepUnits, flushingTo: write)
                for change in live.apply(event) { writer.stage(change, at: time) }
            }
            try await writer.flushChunk(to: write)
            counts.samples = writer.samples
            progress(counts)
            return true
        }
        let end: Date?
        if let until { end = until } else { end = try await store.clock() }
        try await writer.finish(until: end.map(format.units), live: live, step: stepUnits, flushingTo: write)
        try await writer.flushChunk(to: write, force: true)
        counts.samples = writer.samples
        progress(counts)
        return counts
    }

    /// The step in the format's units, or `nil`.
    private var stepUnits: Int64? {
        step.map { max(1, Int64(($0 * Double(format.unitsPerSecond)).rounded())) }
    }

    /// Calls `body` with each page of events matching `query`, in record order, while it returns `true`.
    private func forEachPage(
        of store: any HealthStoreQueries,
        _ query: EventQuery,
        _ body: ([HealthEvent]) async throws -> Bool
    ) async throws {
        var position: EventPosition?
        while true {
            let page = try await store.events(query, after: position, limit: pageSize)
            guard !page.isEmpty, try await body(page) else { return }
            guard page.count >= pageSize, let last = page.last else { return }
            position = EventPosition(last)
        }
    }
}

/// A check state's identity across its changes.
struct CheckStateKey: Hashable {
    var urn: String
    var subStreamId: String
    var checkStateId: String
}

/// The current value of every live check state, in the order they appeared (so that repeats are written in a
/// stable order).
struct LiveSeries {
    private(set) var entries: [(key: CheckStateKey, series: HealthSeries, value: Int)?] = []
    private var index: [CheckStateKey: Int] = [:]
    private var holes = 0

    /// Applies a check-state event; returns the samples it writes (none for other events and updates that change
    /// neither health nor element).
    mutating func apply(_ event: HealthEvent) -> [(series: HealthSeries, value: Int)] {
        guard let series = HealthSeries(event), let state = event.checkState else { return [] }
        let key = CheckStateKey(urn: event.urn, subStreamId: event.subStreamId, checkStateId: state.checkStateId)
        let current = index[key].flatMap { entries[$0] }
        switch event.kind {
        case .checkStateCreated, .checkStateUpdated:
            let value = HealthSample.value(of: state.health)
            if let current, current.series == series, current.value == value { return [] }
            var changes: [(series: HealthSeries, value: Int)] = []
            if let current, current.series != series { changes.append((current.series, HealthSample.deleted)) }
            changes.append((series, value))
            if let position = index[key] {
                entries[position] = (key, series, value)
            } else {
                index[key] = entries.count
                entries.append((key, series, value))
            }
            return changes
        case .checkStateDeleted:
            if let position = index.removeValue(forKey: key) {
                entries[position] = nil
                holes += 1
                if holes > 1024 && holes > entries.count / 2 { compact() }
            }
            return [(current?.series ?? series, HealthSample.deleted)]
        default:
            return []
        }
    }

    /// Every live series and its value, in order.
    var values: some Sequence<(series: HealthSeries, value: Int)> {
        entries.lazy.compactMap { entry in entry.map { (series: $0.series, value: $0.value) } }
    }

    private mutating func compact() {
        entries = entries.filter { $0 != nil }
        index = [:]
        for (position, entry) in entries.enumerated() {
            if let entry { index[entry.key] = position }
        }
        holes = 0
    }
}

/// Writes samples in a format, coalescing the samples of one series at one time, repeating live series at a step,
/// and handing the text on in chunks.
struct SampleWriter {
    let format: HealthExportFormat
    let chunkBytes: Int
    private(set) var samples = 0
    private var text = ""
    private var wroteDatapoint = false
    /// The time of the staged samples, and of the last written when nothing is staged.
    private var time: Int64?
    private var staged: [(series: HealthSeries, value: Int)] = []
    private var stagedIndex: [HealthSeries: Int] = [:]

    init(format: HealthExportFormat, chunkBytes: Int) {
        self.format = format
        self.chunkBytes = chunkBytes
        text.reserveCapacity(chunkBytes + 4096)
    }

    mutating func begin() {
        switch format {
        case .openMetrics:
            MetricsTextFormat.openMetrics.appendGaugeFamily(
                CurrentHealthExposition.healthMetric,
                help: "Health of a check state: 0 CLEAR, 1 DEVIATING, 2 CRITICAL, -1 deleted.", to: &text)
        case .influx: break
        case .openTSDB: text += "["
        }
    }

    /// Stages every live series at `time` (the state at the start).
    mutating func stage(time: Int64, live: LiveSeries) {
        self.time = time
        for (series, value) in live.values { stage((series, value), at: time) }
    }

    /// Stages a sample at `time`, which is the time staged or a later one (after `advance`).
    mutating func stage(_ change: (series: HealthSeries, value: Int), at time: Int64) {
        self.time = time
        if let position = stagedIndex[change.series] {
            staged[position].value = change.value
        } else {
            stagedIndex[change.series] = staged.count
            staged.append(change)
        }
    }

    /// Writes what is staged when `time` is later, and the repeats of live series due before `time`.
    mutating func advance(
        to time: Int64, live: LiveSeries, step: Int64?, flushingTo write: (String) async throws -> Void
    ) async throws {
        guard let current = self.time, time > current else {
            if self.time == nil { self.time = time }
            return
        }
        writeStaged(repeating: live, step: step)
        if let step { try await writeRepeats(after: current, before: time, live: live, step: step, to: write) }
        self.time = time
    }

    /// Writes what is staged and the repeats up to `end`, and ends the text.
    mutating func finish(
        until end: Int64?, live: LiveSeries, step: Int64?, flushingTo write: (String) async throws -> Void
    ) async throws {
        if let current = time {
            writeStaged(repeating: live, step: step)
            if let step, let end, end > current {
                try await writeRepeats(after: current, before: end + 1, live: live, step: step, to: write)
            }
        }
        switch format {
        case .openMetrics: text += "# EOF\n"
        case .influx: break
        case .openTSDB: text += wroteDatapoint ? "\n]\n" : "]\n"
        }
    }

    /// Hands the text on when it reached a chunk's size (or, with `force`, whatever there is).
    mutating func flushChunk(to write: (String) async throws -> Void, force: Bool = false) async throws {
        guard force || text.utf8.count >= chunkBytes, !text.isEmpty else { return }
        try await write(text)
        text.removeAll(keepingCapacity: true)
    }

    /// Writes the staged samples and, when their time is a multiple of the step, every other live series too.
    private mutating func writeStaged(repeating live: LiveSeries, step: Int64?) {
        guard let time else { return }
        for (series, value) in staged { write(series, value, at: time) }
        if let step, time % step == 0 {
            for (series, value) in live.values where stagedIndex[series] == nil { write(series, value, at: time) }
        }
        staged.removeAll(keepingCapacity: true)
        stagedIndex.removeAll(keepingCapacity: true)
    }

    /// Writes every live series at each multiple of `step` after `start` and before `end`, handing the text on
    /// as chunks fill: a long gap between changes repeats every live series many times.
    private mutating func writeRepeats(
        after start: Int64, before end: Int64, live: LiveSeries, step: Int64, to write: (String) async throws -> Void
    ) async throws {
        var tick = (start / step + 1) * step
        while tick < end {
            for (series, value) in live.values { self.write(series, value, at: tick) }
            try await flushChunk(to: write)
            tick += step
        }
    }

    private mutating func write(_ series: HealthSeries, _ value: Int, at time: Int64) {
        samples += 1
        let sample = HealthSample(series: series, value: value, at: .distantPast)
        switch format {
        case .openMetrics:
            MetricsTextFormat.openMetrics.appendSample(
                CurrentHealthExposition.healthMetric,
                labels: [
                    "urn": series.urn, "sub_stream": series.subStreamId, "check_state": series.checkStateId,
                    "element": series.element,
                ],
                value: Int64(value), milliseconds: time, to: &text)
        case .influx:
            text += InfluxLineProtocol.line(sample, nanoseconds: time)
        case .openTSDB:
            text += wroteDatapoint ? ",\n" : "\n"
            text += OpenTSDBNames.datapoint(sample, seconds: time)
            wroteDatapoint = true
        }
    }
}
