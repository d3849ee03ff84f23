import Foundation
import HealthSync

/// The current health of every check state and the open errors of every stream in a Prometheus text format: the
/// body of `GET /metrics/health`.
///
/// | family | labels | value |
/// |---|---|---|
/// | `healthsync_check_state_health` | `urn`, `sub_stream` (`""` for main), `check_state`, `element` | 0 CLEAR, 1 DEVIATING, 2 CRITICAL |
/// | `healthsync_stream_errors` | `urn`, `sub_stream`, `code`, `level` | how many times the open error was raised |
///
/// The check states are read a page at a time
/// (``HealthSync/HealthStoreQueries/checkStates(urn:subStreamId:healths:after:limit:)``), and the open errors, which
/// are few, in one read (``HealthSync/HealthStoreQueries/openErrors()``); `SQLiteHealthStore` answers each in a read
/// transaction on a reader connection, beside its writer. The text is written in chunks as it is read: only a page
/// and a chunk of the check states are in memory. A scrape is therefore not one snapshot: a
/// change committed while it runs shows in the pages read after it.
///
/// ```swift
/// let exposition = CurrentHealthExposition(format: .prometheus)
/// let first = try await exposition.firstPage(of: store)
/// try await exposition.write(from: store, firstPage: first) { chunk in try await send(chunk) }
/// ```
public struct CurrentHealthExposition: Sendable {
    /// The name of the family of check-state healths.
    public static let healthMetric = "healthsync_check_state_health"
    /// The name of the family of open errors.
    public static let errorsMetric = "healthsync_stream_errors"

    /// The text format written.
    public var format: MetricsTextFormat
    /// How many check states one read takes.
    public var pageSize: Int
    /// The size from which a chunk of text is handed on.
    public var chunkBytes: Int

    /// Creates an exposition.
    /// - Parameters:
    ///   - format: the text format.
    ///   - pageSize: check states per read (at least 1).
    ///   - chunkBytes: the size from which a chunk of text is handed on.
    public init(format: MetricsTextFormat, pageSize: Int = 2000, chunkBytes: Int = 64 << 10) {
        self.format = format
        self.pageSize = max(1, pageSize)
        self.chunkBytes = max(1, chunkBytes)
    }

    /// Reads the first page of check states: a caller that has to answer before it streams (an HTTP status) reads
    /// it first, so that a store that cannot be read fails before anything is written.
    /// - Throws: ``HealthSync/StorageError``.
    public func firstPage(of store: any HealthStoreQueries) async throws -> [StoredCheckState] {
        try await store.checkStates(urn: nil, subStreamId: nil, healths: nil, after: nil, limit: pageSize)
    }

    /// Writes the whole exposition, chunk by chunk.
    /// - Parameters:
    ///   - store: the store read.
    ///   - firstPage: what ``firstPage(of:)`` returned, or `nil` to read it here.
    ///   - write: called with each chunk of text, in order.
    /// - Throws: ``HealthSync/StorageError`` when a read fails (the chunks written so far are not a complete
    ///   exposition); whatever `write` throws.
    public func write(
        from store: any HealthStoreQueries,
        firstPage: [StoredCheckState]? = nil,
        to write: (String) async throws -> Void
    ) async throws {
        var text = ""
        text.reserveCapacity(chunkBytes + 4096)
        format.appendGaugeFamily(
            Self.healthMetric, help: "Health of a check state: 0 CLEAR, 1 DEVIATING, 2 CRITICAL.", to: &text)
        var page: [StoredCheckState]
        if let firstPage { page = firstPage } else { page = try await self.firstPage(of: store) }
        while true {
            for state in page {
                format.appendSample(
                    Self.healthMetric,
                    labels: [
                        "urn": state.key.urn, "sub_stream": state.key.subStreamId, "check_state": state.checkStateId,
                        "element": state.checkState.topologyElementIdentifier,
                    ],
                    value: Int64(HealthSample.value(of: state.checkState.health)), to: &text)
            }
            if text.utf8.count >= chunkBytes {
                try await write(text)
                text.removeAll(keepingCapacity: true)
            }
            guard page.count >= pageSize, let last = page.last else { break }
            page = try await store.checkStates(
                urn: nil, subStreamId: nil, healths: nil, after: CheckStatePosition(last), limit: pageSize)
        }
        format.appendGaugeFamily(
            Self.errorsMetric, help: "Open errors of a stream or sub-stream: how many times each was raised.",
            to: &text)
        let errors = try await store.openErrors()
        var start = errors.startIndex
        while start < errors.endIndex {
            let urn = errors[start].key.urn
            let end = errors[start...].firstIndex { $0.key.urn != urn } ?? errors.endIndex
            appendErrors(errors[start..<end], of: urn, to: &text)
            start = end
            if text.utf8.count >= chunkBytes {
                try await write(text)
                text.removeAll(keepingCapacity: true)
            }
        }
        text += format.end
        try await write(text)
    }

    /// One sample per label set: a stream-level error and a sub-stream error of one code and sub-stream (which the
    /// labels do not tell apart) are summed.
    private func appendErrors(_ errors: ArraySlice<ErrorRecord>, of urn: String, to text: inout String) {
        struct Labels: Hashable {
            var subStreamId: String
            var code: StreamErrorCode
        }
        var order: [Labels] = []
        var counts: [Labels: (level: ErrorLevel, count: Int64)] = [:]
        for error in errors {
            let labels = Labels(subStreamId: error.key.subStreamId, code: error.code)
            if let known = counts[labels] {
                counts[labels] = (known.level, known.count + error.count)
            } else {
                order.append(labels)
                counts[labels] = (error.level, error.count)
            }
        }
        for labels in order {
            guard let entry = counts[labels] else { continue }
            format.appendSample(
                Self.errorsMetric,
                labels: [
                    "urn": urn, "sub_stream": labels.subStreamId, "code": labels.code.rawValue,
                    "level": entry.level.rawValue,
                ],
                value: entry.count, to: &text)
        }
    }
}
