import Foundation
import HealthSync
import HealthSyncHTTP

/// The documents `--format json` prints: the CLI's stable machine contract.
///
/// Keys are spelled exactly as below and always present: absent values are explicit `null`s (``ExplicitNull``;
/// synthesized conformances drop `nil`). `subStreamId` is `null` for the main sub-stream; times are
/// epoch seconds. Arrays are sorted by URN, then sub-stream (main first), then check-state id or error code.
enum JSONContract {
    /// `state`: `{"checkStates": [...]}`.
    struct StateDocument: Encodable, Sendable {
        var checkStates: [CheckStateEntry]

        init(_ states: [StoredCheckState]) {
            checkStates =
                states
                .sorted { ($0.key, $0.checkStateId) < ($1.key, $1.checkStateId) }
                .map(CheckStateEntry.init)
        }
    }

    /// One check state.
    struct CheckStateEntry: Encodable, Sendable {
        var urn: String
        @ExplicitNull var subStreamId: String?
        var checkStateId: String
        var name: String
        var health: String
        var topologyElementIdentifier: String
        @ExplicitNull var message: String?

        init(_ state: StoredCheckState) {
            urn = state.key.urn
            subStreamId = state.key.publicSubStreamId
            checkStateId = state.checkStateId
            name = state.checkState.name
            health = state.checkState.health.rawValue
            topologyElementIdentifier = state.checkState.topologyElementIdentifier
            message = state.checkState.message
        }
    }

    /// `streams`: `{"streams": [...]}`.
    struct StreamsDocument: Encodable, Sendable {
        /// The processor clock (epoch seconds), `null` before anything happened.
        @ExplicitNull var clock: Double?
        var streams: [StreamEntry]

        init(_ summaries: [StreamSummary], clock: Date?) {
            self.clock = clock?.timeIntervalSince1970
            streams = summaries.sorted { $0.urn < $1.urn }.map(StreamEntry.init)
        }
    }

    /// One stream.
    struct StreamEntry: Encodable, Sendable {
        var urn: String
        var consistencyModel: String
        var subStreamCount: Int
        var checkStateCount: Int

        init(_ summary: StreamSummary) {
            urn = summary.urn
            consistencyModel = summary.consistencyModel.rawValue
            subStreamCount = summary.subStreamCount
            checkStateCount = summary.checkStateCount
        }
    }

    /// `status`: one stream's model, stream-level errors and sub-streams.
    struct StatusDocument: Encodable, Sendable {
        var urn: String
        var consistencyModel: String
        /// The processor clock (epoch seconds): deadlines before it have fired.
        @ExplicitNull var clock: Double?
        var errors: [ErrorEntry]
        var subStreams: [SubStreamEntry]

        init(_ status: StreamStatus, clock: Date?) {
            self.clock = clock?.timeIntervalSince1970
            urn = status.urn
            consistencyModel = status.consistencyModel.rawValue
            errors = ErrorEntry.sorted(status.errors)
            subStreams = status.subStreams.sorted { $0.record.key < $1.record.key }.map(SubStreamEntry.init)
        }
    }

    /// One sub-stream of a status: what the table shows, with every deadline and counter behind its columns.
    struct SubStreamEntry: Encodable, Sendable {
        @ExplicitNull var subStreamId: String?
        var checkStateCount: Int
        @ExplicitNull var repeatIntervalS: Int?
        @ExplicitNull var expiryIntervalS: Int?
        var snapshotOpen: Bool
        /// When the open snapshot started (epoch seconds), `nil` when none is open.
        @ExplicitNull var snapshotStartedAt: Double?
        @ExplicitNull var checkpoint: CheckpointEntry?
        var lastMessageAt: Double
        /// The earliest of `deadlines` (the table's NEXT DEADLINE).
        @ExplicitNull var nextDeadline: Double?
        var deadlines: DeadlinesEntry
        var metrics: MetricsEntry
        var errors: [ErrorEntry]

        init(_ subStream: StreamStatus.SubStream) {
            let record = subStream.record
            subStreamId = record.key.publicSubStreamId
            checkStateCount = subStream.checkStateCount
            repeatIntervalS = record.intervals?.repeatInterval
            expiryIntervalS = record.intervals?.expiry
            snapshotOpen = record.openSnapshot != nil
            snapshotStartedAt = record.openSnapshot?.startedAt.timeIntervalSince1970
            checkpoint = record.checkpoint.map(CheckpointEntry.init)
            lastMessageAt = record.lastMessageAt.timeIntervalSince1970
            nextDeadline = record.nextDeadline?.timeIntervalSince1970
            deadlines = DeadlinesEntry(record.deadlines)
            metrics = MetricsEntry(record.metrics)
            errors = ErrorEntry.sorted(subStream.errors)
        }
    }

    /// A sub-stream's timers (epoch seconds; `null` when not set).
    struct DeadlinesEntry: Encodable, Sendable {
        @ExplicitNull var lateData: Double?
        @ExplicitNull var missingStop: Double?
        @ExplicitNull var expiry: Double?
        @ExplicitNull var checkStateExpiry: Double?
        @ExplicitNull var silence: Double?

        init(_ deadlines: SubStreamDeadlines) {
            lateData = deadlines.lateData?.timeIntervalSince1970
            missingStop = deadlines.missingStop?.timeIntervalSince1970
            expiry = deadlines.expiry?.timeIntervalSince1970
            checkStateExpiry = deadlines.checkStateExpiry?.timeIntervalSince1970
            silence = deadlines.silence?.timeIntervalSince1970
        }
    }

    /// A sub-stream's lifetime counters (the table's second section).
    struct MetricsEntry: Encodable, Sendable {
        var messages: Int64
        var creates: Int64
        var updates: Int64
        var deletes: Int64
        /// Mean seconds from receipt to processing over all messages; `null` before the first.
        @ExplicitNull var averageLatencyS: Double?
        /// The last message's latency in seconds; `null` before the first.
        @ExplicitNull var lastLatencyS: Double?

        init(_ metrics: SubStreamMetrics) {
            messages = metrics.messages
            creates = metrics.creates
            updates = metrics.updates
            deletes = metrics.deletes
            averageLatencyS = metrics.messages > 0 ? metrics.totalLatency / Double(metrics.messages) : nil
            lastLatencyS = metrics.messages > 0 ? metrics.lastLatency : nil
        }
    }

    /// A TRANSACTIONAL_INCREMENTS checkpoint.
    struct CheckpointEntry: Encodable, Sendable {
        var offset: Int64
        @ExplicitNull var batchIndex: Int64?

        init(_ checkpoint: Checkpoint) {
            offset = checkpoint.offset
            batchIndex = checkpoint.batchIndex
        }
    }

    /// One open error record. For a stream-level error, `subStreamId` is the sub-stream it names.
    struct ErrorEntry: Encodable, Sendable {
        var code: String
        var level: String
        var message: String
        var count: Int64
        @ExplicitNull var subStreamId: String?
        var firstSeenAt: Double
        var lastSeenAt: Double

        init(_ record: ErrorRecord) {
            code = record.code.rawValue
            level = record.level.rawValue
            message = record.message
            count = record.count
            subStreamId = record.key.subStreamId.isEmpty ? nil : record.key.subStreamId
            firstSeenAt = record.firstSeenAt.timeIntervalSince1970
            lastSeenAt = record.lastSeenAt.timeIntervalSince1970
        }

        /// Sorted by sub-stream (main first), then code.
        static func sorted(_ records: [ErrorRecord]) -> [ErrorEntry] {
            records.sorted { ($0.key.subStreamId, $0.code.rawValue) < ($1.key.subStreamId, $1.code.rawValue) }
                .map(ErrorEntry.init)
        }
    }
}
