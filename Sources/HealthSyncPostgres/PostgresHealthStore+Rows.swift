import Foundation
import HealthSync
import PostgresNIO

extension PostgresHealthStore {
    /// The store's tables, named in its schema, for the statements to interpolate (`\(unescaped: sql.stream)`).
    struct Statements: Sendable {
        /// The quoted schema name.
        let schema: String
        let stream: String
        let subStream: String
        let checkState: String
        let streamError: String
        let event: String
        let processorClock: String
        let receipt: String

        init(schema: String) {
            self.schema = schema
            stream = "\(schema).stream"
            subStream = "\(schema).subStream"
            checkState = "\(schema).checkState"
            streamError = "\(schema).streamError"
            event = "\(schema).event"
            processorClock = "\(schema).processorClock"
            receipt = "\(schema).receipt"
        }
    }
}

/// How model values map to columns: the column lists the queries select, and the decoding of one row. Every decoder
/// reads the columns in the order of its list; a `NULL` in a required column or a value the model does not know is
/// ``HealthSync/StorageError/Code/corrupt``.
extension PostgresHealthStore {
    static let streamColumns = "urn, consistencyModel, createdAt, version"

    static let subStreamColumns = """
        urn, subStreamId, createdAt, repeatInterval, expiryInterval, snapshotStartedAt, snapshotClean, \
        snapshotSequence, lastCompletedAt, lastMessageAt, checkpointOffset, checkpointBatchIndex, \
        lateDataDeadline, missingStopDeadline, expiryDeadline, checkStateExpiryDeadline, \
        messageCount, createCount, updateCount, deleteCount, totalLatency, lastLatency, version, silenceDeadline
        """

    static let checkStateColumns = """
        urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message, lastSeenAt, \
        snapshotSequence, livenessInterval, livenessGrace, silencedAt
        """

    static let errorColumns = "urn, subStreamId, streamLevel, code, level, message, count, firstSeenAt, lastSeenAt"

    static let eventColumns = """
        sequence, at, kind, urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message, \
        previousHealth, deletionReason, errorCode, detail
        """

    static func streamRecord(_ row: PostgresRow) throws -> StreamRecord {
        var columns = Columns(row, table: "stream")
        return StreamRecord(
            urn: try columns.next(),
            consistencyModel: try columns.value(),
            createdAt: try columns.date(),
            version: try columns.next()
        )
    }

    static func subStreamRecord(_ row: PostgresRow) throws -> SubStreamRecord {
        var columns = Columns(row, table: "subStream")
        let key = StreamKey(urn: try columns.next(), subStreamId: try columns.next(String.self))
        let createdAt = try columns.date()
        let repeatInterval = try columns.next(Int64?.self)
        let expiryInterval = try columns.next(Int64?.self)
        let snapshotStartedAt = try columns.optionalDate()
        let snapshotClean = try columns.next(Bool?.self)
        let snapshotSequence = try columns.next(Int64.self)
        let lastCompletedAt = try columns.optionalDate()
        let lastMessageAt = try columns.date()
        let checkpointOffset = try columns.next(Int64?.self)
        let checkpointBatchIndex = try columns.next(Int64?.self)
        var deadlines = SubStreamDeadlines(
            lateData: try columns.optionalDate(),
            missingStop: try columns.optionalDate(),
            expiry: try columns.optionalDate(),
            checkStateExpiry: try columns.optionalDate()
        )
        let metrics = SubStreamMetrics(
            messages: try columns.next(),
            creates: try columns.next(),
            updates: try columns.next(),
            deletes: try columns.next(),
            totalLatency: try columns.next(),
            lastLatency: try columns.next()
        )
        let version = try columns.next(Int64.self)
        deadlines.silence = try columns.optionalDate()
        return SubStreamRecord(
            key: key,
            createdAt: createdAt,
            intervals: repeatInterval.map {
                Intervals(repeatInterval: Int($0), expiryInterval: Int(expiryInterval ?? 0))
            },
            openSnapshot: snapshotStartedAt.map { OpenSnapshot(startedAt: $0, clean: snapshotClean ?? false) },
            snapshotSequence: snapshotSequence,
            lastCompletedAt: lastCompletedAt,
            lastMessageAt: lastMessageAt,
            checkpoint: checkpointOffset.map { Checkpoint(offset: $0, batchIndex: checkpointBatchIndex) },
            deadlines: deadlines,
            metrics: metrics,
            version: version
        )
    }

    static func storedCheckState(_ row: PostgresRow) throws -> StoredCheckState {
        var columns = Columns(row, table: "checkState")
        let key = StreamKey(urn: try columns.next(), subStreamId: try columns.next(String.self))
        return StoredCheckState(
            key: key,
            checkState: CheckState(
                checkStateId: try columns.next(),
                name: try columns.next(),
                health: try columns.value(),
                topologyElementIdentifier: try columns.next(),
                message: try columns.next()
            ),
            lastSeenAt: try columns.date(),
            snapshotSequence: try columns.next(),
            liveness: try liveness(&columns)
        )
    }

    /// The liveness columns of a check state: `livenessInterval`, `livenessGrace`, `silencedAt`.
    private static func liveness(_ columns: inout Columns) throws -> CheckStateLiveness? {
        let interval = try columns.next(Int64?.self)
        let grace = try columns.next(Int64?.self)
        let silencedAt = try columns.optionalDate()
        return interval.map {
            CheckStateLiveness(interval: Int($0), grace: Int(grace ?? 0), silencedAt: silencedAt)
        }
    }

    static func errorRecord(_ row: PostgresRow) throws -> ErrorRecord {
        var columns = Columns(row, table: "streamError")
        let urn = try columns.next(String.self)
        let subStreamId = try columns.next(String.self)
        let streamLevel = try columns.next(Bool.self)
        return ErrorRecord(
            key: ErrorKey(urn: urn, streamLevel: streamLevel, subStreamId: subStreamId, code: try columns.value()),
            level: try columns.value(),
            message: try columns.next(),
            count: try columns.next(),
            firstSeenAt: try columns.date(),
            lastSeenAt: try columns.date()
        )
    }

    static func healthEvent(_ row: PostgresRow) throws -> HealthEvent {
        var columns = Columns(row, table: "event")
        let sequence = try columns.next(Int64.self)
        let at = try columns.date()
        let kind: HealthEvent.Kind = try columns.value()
        let urn = try columns.next(String.self)
        let subStreamId = try columns.next(String.self)
        var checkState: CheckState?
        let checkStateId = try columns.next(String?.self)
        let name = try columns.next(String?.self)
        let health: Health? = try columns.optionalValue()
        let element = try columns.next(String?.self)
        let message = try columns.next(String?.self)
        if let checkStateId {
            guard let name, let health, let element else {
                throw StorageError(
                    code: .corrupt, message: "event \(sequence) names check state \(checkStateId) without its fields")
            }
            checkState = CheckState(
                checkStateId: checkStateId, name: name, health: health, topologyElementIdentifier: element,
                message: message)
        }
        return HealthEvent(
            sequence: sequence,
            at: at,
            kind: kind,
            urn: urn,
            subStreamId: subStreamId,
            checkState: checkState,
            previousHealth: try columns.optionalValue(),
            deletionReason: try columns.optionalValue(),
            errorCode: try columns.optionalValue(),
            detail: try columns.next()
        )
    }

    /// The columns of one row, read in order.
    struct Columns {
        private let cells: PostgresRandomAccessRow
        private let table: String
        private var index = 0

        init(_ row: PostgresRow, table: String) {
            self.cells = row.makeRandomAccess()
            self.table = table
        }

        /// The next column as a `T` (an optional for a nullable column).
        mutating func next<T: PostgresDecodable>(_: T.Type = T.self) throws -> T {
            defer { index += 1 }
            guard index < cells.count else {
                throw StorageError(code: .corrupt, message: "a row of \(table) has fewer columns than expected")
            }
            return try cells[index].decode(T.self)
        }

        /// The next column, a time stored as seconds since 1970.
        mutating func date() throws -> Date {
            Date(timeIntervalSince1970: try next(Double.self))
        }

        /// The next column, a time stored as seconds since 1970, or `NULL`.
        mutating func optionalDate() throws -> Date? {
            try next(Double?.self).map(Date.init(timeIntervalSince1970:))
        }

        /// The next column, a model enum stored as its raw value.
        mutating func value<Value: RawRepresentable>() throws -> Value where Value.RawValue == String {
            let column = "\(table).\(index < cells.count ? cells[index].columnName : "?")"
            let raw = try next(String.self)
            guard let value = Value(rawValue: raw) else { throw PostgresHealthStore.corrupt(column, raw) }
            return value
        }

        /// The next column, a model enum stored as its raw value, or `NULL`.
        mutating func optionalValue<Value: RawRepresentable>() throws -> Value? where Value.RawValue == String {
            let column = "\(table).\(index < cells.count ? cells[index].columnName : "?")"
            guard let raw = try next(String?.self) else { return nil }
            guard let value = Value(rawValue: raw) else { throw PostgresHealthStore.corrupt(column, raw) }
            return value
        }
    }
}

extension Date {
    /// The stored form of a time: seconds since 1970.
    var storedValue: Double { timeIntervalSince1970 }
}
