import Foundation
import HealthSync

/// The documents `--format json` prints: the CLI's stable machine contract.
///
/// Keys are spelled exactly as below and always present: absent values are explicit `null`s (hence the hand-written
/// `encode(to:)`; synthesized conformances drop `nil`). `subStreamId` is `null` for the main sub-stream; times are
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
        var subStreamId: String?
        var checkStateId: String
        var name: String
        var health: String
        var topologyElementIdentifier: String
        var message: String?

        init(_ state: StoredCheckState) {
            urn = state.key.urn
            subStreamId = state.key.publicSubStreamId
            checkStateId = state.checkStateId
            name = state.checkState.name
            health = state.checkState.health.rawValue
            topologyElementIdentifier = state.checkState.topologyElementIdentifier
            message = state.checkState.message
        }

        private enum CodingKeys: String, CodingKey {
            case urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(urn, forKey: .urn)
            try container.encode(subStreamId, forKey: .subStreamId)
            try container.encode(checkStateId, forKey: .checkStateId)
            try container.encode(name, forKey: .name)
            try container.encode(health, forKey: .health)
            try container.encode(topologyElementIdentifier, forKey: .topologyElementIdentifier)
            try container.encode(message, forKey: .message)
        }
    }

    /// `streams`: `{"streams": [...]}`.
    struct StreamsDocument: Encodable, Sendable {
        /// The processor clock (epoch seconds), `null` before anything happened.
        var clock: Double?
        var streams: [StreamEntry]

        init(_ summaries: [StreamSummary], clock: Date?) {
            self.clock = clock?.timeIntervalSince1970
            streams = summaries.sorted { $0.urn < $1.urn }.map(StreamEntry.init)
        }

        private enum CodingKeys: String, CodingKey {
            case clock, streams
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(clock, forKey: .clock)
            try container.encode(streams, forKey: .streams)
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
        var clock: Double?
        var errors: [ErrorEntry]
        var subStreams: [SubStreamEntry]

        private enum CodingKeys: String, CodingKey {
            case urn, consistencyModel, clock, errors, subStreams
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(urn, forKey: .urn)
            try container.encode(consistencyModel, forKey: .consistencyModel)
            try container.encode(clock, forKey: .clock)
            try container.encode(errors, forKey: .errors)
            try container.encode(subStreams, forKey: .subStreams)
        }

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
        var subStreamId: String?
        var checkStateCount: Int
        var repeatIntervalS: Int?
        var expiryIntervalS: Int?
        var snapshotOpen: Bool
        /// When the open snapshot started (epoch seconds), `nil` when none is open.
        var snapshotStartedAt: Double?
        var checkpoint: CheckpointEntry?
        var lastMessageAt: Double
        /// The earliest of `deadlines` (the table's NEXT DEADLINE).
        var nextDeadline: Double?
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

        private enum CodingKeys: String, CodingKey {
            case subStreamId, checkStateCount, repeatIntervalS, expiryIntervalS, snapshotOpen, snapshotStartedAt
            case checkpoint, lastMessageAt, nextDeadline, deadlines, metrics, errors
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(subStreamId, forKey: .subStreamId)
            try container.encode(checkStateCount, forKey: .checkStateCount)
            try container.encode(repeatIntervalS, forKey: .repeatIntervalS)
            try container.encode(expiryIntervalS, forKey: .expiryIntervalS)
            try container.encode(snapshotOpen, forKey: .snapshotOpen)
            try container.encode(snapshotStartedAt, forKey: .snapshotStartedAt)
            try container.encode(checkpoint, forKey: .checkpoint)
            try container.encode(lastMessageAt, forKey: .lastMessageAt)
            try container.encode(nextDeadline, forKey: .nextDeadline)
            try container.encode(deadlines, forKey: .deadlines)
            try container.encode(metrics, forKey: .metrics)
            try container.encode(errors, forKey: .errors)
        }
    }

    /// A sub-stream's timers (epoch seconds; `null` when not set).
    struct DeadlinesEntry: Encodable, Sendable {
        var lateData: Double?
        var missingStop: Double?
        var expiry: Double?
        var checkStateExpiry: Double?

        init(_ deadlines: SubStreamDeadlines) {
            lateData = deadlines.lateData?.timeIntervalSince1970
            missingStop = deadlines.missingStop?.timeIntervalSince1970
            expiry = deadlines.expiry?.timeIntervalSince1970
            checkStateExpiry = deadlines.checkStateExpiry?.timeIntervalSince1970
        }

        private enum CodingKeys: String, CodingKey {
            case lateData, missingStop, expiry, checkStateExpiry
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(lateData, forKey: .lateData)
            try container.encode(missingStop, forKey: .missingStop)
            try container.encode(expiry, forKey: .expiry)
            try container.encode(checkStateExpiry, forKey: .checkStateExpiry)
        }
    }

    /// A sub-stream's lifetime counters (the table's second section).
    struct MetricsEntry: Encodable, Sendable {
        var messages: Int64
        var creates: Int64
        var updates: Int64
        var deletes: Int64
        /// Mean seconds from receipt to processing over all messages; `null` before the first.
        var averageLatencyS: Double?
        /// The last message's latency in seconds; `null` before the first.
        var lastLatencyS: Double?

        init(_ metrics: SubStreamMetrics) {
            messages = metrics.messages
            creates = metrics.creates
            updates = metrics.updates
            deletes = metrics.deletes
            averageLatencyS = metrics.messages > 0 ? metrics.totalLatency / Double(metrics.messages) : nil
            lastLatencyS = metrics.messages > 0 ? metrics.lastLatency : nil
        }

        private enum CodingKeys: String, CodingKey {
            case messages, creates, updates, deletes, averageLatencyS, lastLatencyS
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(messages, forKey: .messages)
            try container.encode(creates, forKey: .creates)
            try container.encode(updates, forKey: .updates)
            try container.encode(deletes, forKey: .deletes)
            try container.encode(averageLatencyS, forKey: .averageLatencyS)
            try container.encode(lastLatencyS, forKey: .lastLatencyS)
        }
    }

    /// A TRANSACTIONAL_INCREMENTS checkpoint.
    struct CheckpointEntry: Encodable, Sendable {
        var offset: Int64
        var batchIndex: Int64?

        init(_ checkpoint: Checkpoint) {
            offset = checkpoint.offset
            batchIndex = checkpoint.batchIndex
        }

        private enum CodingKeys: String, CodingKey {
            case offset, batchIndex
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(offset, forKey: .offset)
            try container.encode(batchIndex, forKey: .batchIndex)
        }
    }

    /// One open error record. For a stream-level error, `subStreamId` is the sub-stream it names.
    struct ErrorEntry: Encodable, Sendable {
        var code: String
        var level: String
        var message: String
        var count: Int64
        var subStreamId: String?
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

        private enum CodingKeys: String, CodingKey {
            case code, level, message, count, subStreamId, firstSeenAt, lastSeenAt
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(code, forKey: .code)
            try container.encode(level, forKey: .level)
            try container.encode(message, forKey: .message)
            try container.encode(count, forKey: .count)
            try container.encode(subStreamId, forKey: .subStreamId)
            try container.encode(firstSeenAt, forKey: .firstSeenAt)
            try container.encode(lastSeenAt, forKey: .lastSeenAt)
        }
    }
}
