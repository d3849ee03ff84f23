import Foundation
import HealthSync

/// The JSON bodies of the status API: StackState's health-sync shapes (`StreamList`, `SubStreamList`,
/// `HealthStreamStatus`, `HealthSubStreamStatus`), plus a few fields of our own that StackState does not have
/// (marked *extension* below; clients that do not know them ignore them). Times are epoch seconds, intervals
/// milliseconds as StackState writes them.
enum StatusDocuments {
    /// `GET …/streams`: `{"items": [...]}`.
    struct StreamList: Encodable {
        var items: [StreamListItem]
    }

    /// One stream: `urn`, `consistencyModel`, `subStreams` (how many besides the main one) and, as an extension,
    /// `checkStateCount`.
    struct StreamListItem: Encodable {
        var urn: String
        var consistencyModel: String
        var subStreams: Int
        var checkStateCount: Int

        init(_ summary: StreamSummary, hasMainSubStream: Bool) {
            urn = summary.urn
            consistencyModel = summary.consistencyModel.rawValue
            subStreams = max(0, summary.subStreamCount - (hasMainSubStream ? 1 : 0))
            checkStateCount = summary.checkStateCount
        }
    }

    /// `GET …/streams/{urn}/substreams`: `{"subStreams": [...]}`, the main sub-stream excluded (it is the stream
    /// status's `mainStreamStatus`).
    struct SubStreamList: Encodable {
        var subStreams: [SubStreamListItem]
    }

    /// One sub-stream: `subStreamId`, `subStreamState`, `checkStateCount`.
    struct SubStreamListItem: Encodable {
        var subStreamId: String
        var subStreamState: SubStreamState
        var checkStateCount: Int

        init(_ subStream: HealthSync.StreamStatus.SubStream, model: ConsistencyModel) {
            subStreamId = subStream.record.key.subStreamId
            subStreamState = SubStreamState(subStream.record, model: model)
            checkStateCount = subStream.checkStateCount
        }
    }

    /// The model-specific state, discriminated by `_type`: `HealthSubStreamSnapshot` (`repeatIntervalMs`,
    /// `expiryIntervalMs` when set), `HealthSubStreamExpiry` (`repeatIntervalMs`, `expiryIntervalMs`, 0 for none)
    /// or `HealthSubStreamTransactionalIncrements` (`offset`, `batchIndex` when set).
    struct SubStreamState: Encodable {
        var type: String
        var repeatIntervalMs: Int?
        var expiryIntervalMs: Int?
        var offset: Int64?
        var batchIndex: Int64?

        init(_ record: SubStreamRecord, model: ConsistencyModel) {
            switch model {
            case .repeatSnapshots:
                type = "HealthSubStreamSnapshot"
                repeatIntervalMs = (record.intervals?.repeatInterval ?? 0) * 1000
                expiryIntervalMs = record.intervals?.expiry.map { $0 * 1000 }
            case .repeatStates:
                type = "HealthSubStreamExpiry"
                repeatIntervalMs = (record.intervals?.repeatInterval ?? 0) * 1000
                expiryIntervalMs = (record.intervals?.expiry ?? 0) * 1000
            case .transactionalIncrements:
                type = "HealthSubStreamTransactionalIncrements"
                offset = record.checkpoint?.offset ?? 0
                batchIndex = record.checkpoint?.batchIndex
            }
        }

        enum CodingKeys: String, CodingKey {
            case type = "_type"
            case repeatIntervalMs, expiryIntervalMs, offset, batchIndex
        }
    }

    /// `GET …/streams/{urn}/status`: `partition` (always 0), `consistencyModel`, `globalErrors` (stream-level
    /// errors), `aggregateMetrics` (over all sub-streams) and `mainStreamStatus` (when the main sub-stream exists).
    struct StreamStatus: Encodable {
        var partition = 0
        var consistencyModel: String
        var globalErrors: [StreamError]
        var aggregateMetrics: StreamMetrics
        var mainStreamStatus: SubStreamStatus?

        init(_ status: HealthSync.StreamStatus, createdAt: Date, now: Date) {
            consistencyModel = status.consistencyModel.rawValue
            globalErrors = status.errors.map(StreamError.init)
            aggregateMetrics = StreamMetrics(
                status.subStreams.map(\.record.metrics), since: createdAt, now: now
            )
            mainStreamStatus = status.subStreams.first { $0.record.key.isMain }.map {
                SubStreamStatus($0, model: status.consistencyModel, now: now)
            }
        }
    }

    /// A sub-stream's status: `errors`, `metrics`, `subStreamState`, `checkStateCount`, and as extensions
    /// `subStreamId`, `snapshotOpen` (REPEAT_SNAPSHOTS), `lastMessageAt`, `nextDeadlines` and `totals`.
    struct SubStreamStatus: Encodable {
        var errors: [StreamError]
        var metrics: StreamMetrics
        var subStreamState: SubStreamState
        var checkStateCount: Int
        var subStreamId: String
        var snapshotOpen: Bool?
        var lastMessageAt: Double
        var nextDeadlines: Deadlines
        var totals: Totals

        init(_ subStream: HealthSync.StreamStatus.SubStream, model: ConsistencyModel, now: Date) {
            let record = subStream.record
            errors = subStream.errors.map(StreamError.init)
            metrics = StreamMetrics([record.metrics], since: record.createdAt, now: now)
            subStreamState = SubStreamState(record, model: model)
            checkStateCount = subStream.checkStateCount
            subStreamId = record.key.subStreamId
            snapshotOpen = model == .repeatSnapshots ? record.openSnapshot != nil : nil
            lastMessageAt = record.lastMessageAt.timeIntervalSince1970
            nextDeadlines = Deadlines(record.deadlines)
            totals = Totals(record.metrics)
        }
    }

    /// One open error: `errorCode`, `level`, `error` (the message), `count`; as extensions `subStreamId` (for a
    /// stream-level error, the sub-stream it names), `firstSeenAt` and `lastSeenAt`.
    struct StreamError: Encodable {
        var errorCode: String
        var level: String
        var error: String
        var count: Int64
        var subStreamId: String?
        var firstSeenAt: Double
        var lastSeenAt: Double

        init(_ record: ErrorRecord) {
            errorCode = record.code.rawValue
            level = record.level.rawValue
            error = record.message
            count = record.count
            subStreamId = record.key.subStreamId.isEmpty ? nil : record.key.subStreamId
            firstSeenAt = record.firstSeenAt.timeIntervalSince1970
            lastSeenAt = record.lastSeenAt.timeIntervalSince1970
        }
    }

    /// StackState's `HealthStreamMetrics`. HealthSync keeps lifetime counters, not time buckets, so there is one
    /// bucket spanning the life of the (sub-)stream: `bucketSizeSeconds` is its age and each series holds one
    /// `{"value": …}`: the average latency and the average rates over that time.
    struct StreamMetrics: Encodable {
        struct Value: Encodable {
            var value: Double
        }

        var bucketSizeSeconds: Int
        var latencySeconds: [Value]
        var messagePerSecond: [Value]
        var createsPerSecond: [Value]
        var updatesPerSecond: [Value]
        var deletesPerSecond: [Value]

        init(_ metrics: [SubStreamMetrics], since start: Date, now: Date) {
            let age = max(1, now.timeIntervalSince(start).rounded(.down))
            bucketSizeSeconds = Int(age)
            let messages = metrics.reduce(0) { $0 + $1.messages }
            let latency = metrics.reduce(0) { $0 + $1.totalLatency }
            latencySeconds = [Value(value: messages > 0 ? latency / Double(messages) : 0)]
            func rate(_ count: Int64) -> [Value] { [Value(value: Double(count) / age)] }
            messagePerSecond = rate(messages)
            createsPerSecond = rate(metrics.reduce(0) { $0 + $1.creates })
            updatesPerSecond = rate(metrics.reduce(0) { $0 + $1.updates })
            deletesPerSecond = rate(metrics.reduce(0) { $0 + $1.deletes })
        }
    }

    /// Extension: the sub-stream's lifetime counters.
    struct Totals: Encodable {
        var messages: Int64
        var creates: Int64
        var updates: Int64
        var deletes: Int64

        init(_ metrics: SubStreamMetrics) {
            messages = metrics.messages
            creates = metrics.creates
            updates = metrics.updates
            deletes = metrics.deletes
        }
    }

    /// Extension: the sub-stream's timers (absent when not set).
    struct Deadlines: Encodable {
        var lateData: Double?
        var missingStop: Double?
        var expiry: Double?
        var checkStateExpiry: Double?
        var silence: Double?

        init(_ deadlines: SubStreamDeadlines) {
            lateData = deadlines.lateData?.timeIntervalSince1970
            missingStop = deadlines.missingStop?.timeIntervalSince1970
            expiry = deadlines.expiry?.timeIntervalSince1970
            checkStateExpiry = deadlines.checkStateExpiry?.timeIntervalSince1970
            silence = deadlines.silence?.timeIntervalSince1970
        }
    }

    /// `GET /api/health/checkstates`: `{"checkStates": [...], "nextCursor": "..."}`, sorted by URN, sub-stream (main
    /// first) and id; `nextCursor` is present only when more check states follow this page.
    struct CheckStateList: Encodable {
        var checkStates: [CheckStateEntry]
        var nextCursor: String?

        init(_ states: [StoredCheckState], nextCursor: String? = nil) {
            checkStates = states.map(CheckStateEntry.init)
            self.nextCursor = nextCursor
        }
    }

    /// One check state; `subStreamId` and `message` are explicit `null`s when absent.
    struct CheckStateEntry: Encodable {
        var urn: String
        @ExplicitNull var subStreamId: String?
        var checkStateId: String
        var name: String
        var health: String
        var topologyElementIdentifier: String
        @ExplicitNull var message: String?
        var lastSeenAt: Double

        init(_ state: StoredCheckState) {
            urn = state.key.urn
            subStreamId = state.key.publicSubStreamId
            checkStateId = state.checkStateId
            name = state.checkState.name
            health = state.checkState.health.rawValue
            topologyElementIdentifier = state.checkState.topologyElementIdentifier
            message = state.checkState.message
            lastSeenAt = state.lastSeenAt.timeIntervalSince1970
        }
    }
}
