import Foundation
internal import GRDB
import HealthSync

/// How model values map to columns: the column lists the queries select, and the decoding of one row.
/// Every decoder reads the columns in the order of its list.
extension SQLiteHealthStore {
    static let streamColumns = "urn, consistencyModel, createdAt, version"

    static let subStreamColumns = """
        urn, subStreamId, createdAt, repeatInterval, expiryInterval, snapshotStartedAt, snapshotClean, \
        snapshotSequence, lastCompletedAt, lastMessageAt, checkpointOffset, checkpointBatchIndex, \
        lateDataDeadline, missingStopDeadline, expiryDeadline, checkStateExpiryDeadline, \
        messageCount, createCount, updateCount, deleteCount, totalLatency, lastLatency, version, silenceDeadline
        """

    /// The sub-stream of the current row of `statement` (selecting ``subStreamColumns``), read through the SQLite C
    /// API, as every stream, sub-stream and check state is: the processor reads one per envelope, and one decoder per
    /// record keeps the queries and the processor's reads from drifting apart. A `NULL` in a required column is
    /// ``HealthSync/StorageError/Code/corrupt``.
    static func subStreamRecord(_ statement: DirectStatement) throws -> SubStreamRecord {
        func date(_ index: Int32, _ column: String) throws -> Date {
            Date(timeIntervalSince1970: try statement.double(index, column: "subStream.\(column)"))
        }
        func optionalDate(_ index: Int32) -> Date? {
            statement.optionalDouble(index).map(Date.init(timeIntervalSince1970:))
        }
        func int64(_ index: Int32, _ column: String) throws -> Int64 {
            try statement.int64(index, column: "subStream.\(column)")
        }
        var intervals: Intervals?
        if let repeatInterval = statement.optionalInt64(3) {
            intervals = Intervals(
                repeatInterval: Int(repeatInterval),
                expiryInterval: Int(statement.optionalInt64(4) ?? 0)
            )
        }
        var openSnapshot: OpenSnapshot?
        if let startedAt = optionalDate(5) {
            openSnapshot = OpenSnapshot(startedAt: startedAt, clean: (statement.optionalInt64(6) ?? 0) != 0)
        }
        var checkpoint: Checkpoint?
        if let offset = statement.optionalInt64(10) {
            checkpoint = Checkpoint(offset: offset, batchIndex: statement.optionalInt64(11))
        }
        return SubStreamRecord(
            key: StreamKey(
                urn: try statement.text(0, column: "subStream.urn"),
                subStreamId: try statement.text(1, column: "subStream.subStreamId")
            ),
            createdAt: try date(2, "createdAt"),
            intervals: intervals,
            openSnapshot: openSnapshot,
            snapshotSequence: try int64(7, "snapshotSequence"),
            lastCompletedAt: optionalDate(8),
            lastMessageAt: try date(9, "lastMessageAt"),
            checkpoint: checkpoint,
            deadlines: SubStreamDeadlines(
                lateData: optionalDate(12),
                missingStop: optionalDate(13),
                expiry: optionalDate(14),
                checkStateExpiry: optionalDate(15),
                silence: optionalDate(23)
            ),
            metrics: SubStreamMetrics(
                messages: try int64(16, "messageCount"),
                creates: try int64(17, "createCount"),
                updates: try int64(18, "updateCount"),
                deletes: try int64(19, "deleteCount"),
                totalLatency: try statement.double(20, column: "subStream.totalLatency"),
                lastLatency: try statement.double(21, column: "subStream.lastLatency")
            ),
            version: try int64(22, "version")
        )
    }

    /// The stream of the current row of `statement` (selecting ``streamColumns``), read through the SQLite C API.
    static func streamRecord(_ statement: DirectStatement) throws -> StreamRecord {
        let model = try statement.text(1, column: "stream.consistencyModel")
        guard let consistencyModel = ConsistencyModel(rawValue: model) else {
            throw corrupt("stream.consistencyModel", model)
        }
        return StreamRecord(
            urn: try statement.text(0, column: "stream.urn"),
            consistencyModel: consistencyModel,
            createdAt: Date(timeIntervalSince1970: try statement.double(2, column: "stream.createdAt")),
            version: try statement.int64(3, column: "stream.version")
        )
    }

    /// The columns of a check state: its key, then ``keyedCheckStateColumns``.
    static let checkStateColumns = "urn, subStreamId, " + keyedCheckStateColumns

    /// The check state of the current row of `statement` (selecting ``checkStateColumns``: its key, then
    /// ``keyedCheckStateColumns``).
    static func storedCheckState(_ statement: DirectStatement) throws -> StoredCheckState {
        let key = StreamKey(
            urn: try statement.text(0, column: "checkState.urn"),
            subStreamId: try statement.text(1, column: "checkState.subStreamId")
        )
        return try storedCheckState(statement, of: key, from: 2)
    }

    /// The columns of a check state but its key, for the reads of one sub-stream, from ``checkStateSource``: its
    /// time and sequence are its sub-stream's last refresh's when it was written before that refresh (schema v4).
    static let keyedCheckStateColumns = """
        checkState.checkStateId, checkState.name, checkState.health, checkState.topologyElementIdentifier, \
        checkState.message, \
        CASE WHEN checkState.refreshVersion < subStream.refreshVersion THEN subStream.refreshedAt \
        ELSE checkState.lastSeenAt END, \
        CASE WHEN checkState.refreshVersion < subStream.refreshVersion THEN subStream.refreshedSequence \
        ELSE checkState.snapshotSequence END, \
        checkState.livenessInterval, checkState.livenessGrace, checkState.silencedAt
        """

    /// What the reads of check states select from: each row of `checkState` beside its sub-stream's, whose refresh
    /// it may take (schema v4). A row without one (which the foreign key forbids, and
    /// ``SQLiteHealthStore/integrityCheck()`` reports) keeps its own time and sequence. Conditions name `urn`,
    /// `subStreamId` and the check state's columns as they are, but `snapshotSequence`, which both tables have.
    static let checkStateSource = "checkState LEFT JOIN subStream USING (urn, subStreamId)"

    /// The check state of sub-stream `key` in the current row of `statement` (selecting
    /// ``keyedCheckStateColumns`` from column `first` on), read through the SQLite C API: the processor reads about a
    /// hundred of these an envelope, and GRDB's `Row` and `DatabaseValue` layers were a measurable share of that read
    /// (Docs/performance.md), as was decoding the key columns the caller already holds. A `NULL` in a required
    /// column or an unknown health is ``HealthSync/StorageError/Code/corrupt``.
    static func storedCheckState(
        _ statement: DirectStatement,
        of key: StreamKey,
        from first: Int32 = 0
    ) throws -> StoredCheckState {
        let health = try statement.text(first + 2, column: "checkState.health")
        guard let value = Health(rawValue: health) else { throw corrupt("checkState.health", health) }
        var liveness: CheckStateLiveness?
        if let interval = statement.optionalInt64(first + 7) {
            liveness = CheckStateLiveness(
                interval: Int(interval), grace: Int(statement.optionalInt64(first + 8) ?? 0),
                silencedAt: statement.optionalDouble(first + 9).map(Date.init(timeIntervalSince1970:))
            )
        }
        return StoredCheckState(
            key: key,
            checkState: CheckState(
                checkStateId: try statement.text(first, column: "checkState.checkStateId"),
                name: try statement.text(first + 1, column: "checkState.name"),
                health: value,
                topologyElementIdentifier: try statement.text(
                    first + 3, column: "checkState.topologyElementIdentifier"),
                message: statement.optionalText(first + 4)
            ),
            lastSeenAt: Date(timeIntervalSince1970: try statement.double(first + 5, column: "checkState.lastSeenAt")),
            snapshotSequence: try statement.int64(first + 6, column: "checkState.snapshotSequence"),
            liveness: liveness
        )
    }

    static let errorColumns = "urn, subStreamId, streamLevel, code, level, message, count, firstSeenAt, lastSeenAt"

    static func errorRecord(_ row: Row) throws -> ErrorRecord {
        ErrorRecord(
            key: ErrorKey(
                urn: try row.decode(String.self, atIndex: 0),
                streamLevel: try row.decode(Bool.self, atIndex: 2),
                subStreamId: try row.decode(String.self, atIndex: 1),
                code: try row.value(atIndex: 3, column: "streamError.code")
            ),
            level: try row.value(atIndex: 4, column: "streamError.level"),
            message: try row.decode(String.self, atIndex: 5),
            count: try row.decode(Int64.self, atIndex: 6),
            firstSeenAt: try row.date(atIndex: 7),
            lastSeenAt: try row.date(atIndex: 8)
        )
    }

    static let eventColumns = """
        sequence, at, kind, urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message, \
        previousHealth, deletionReason, errorCode, detail
        """

    static func healthEvent(_ row: Row) throws -> HealthEvent {
        var checkState: CheckState?
        if let checkStateId = try row.decode(String?.self, atIndex: 5) {
            checkState = CheckState(
                checkStateId: checkStateId,
                name: try row.decode(String.self, atIndex: 6),
                health: try row.value(atIndex: 7, column: "event.health"),
                topologyElementIdentifier: try row.decode(String.self, atIndex: 8),
                message: try row.decode(String?.self, atIndex: 9)
            )
        }
        return HealthEvent(
            sequence: try row.decode(Int64.self, atIndex: 0),
            at: try row.date(atIndex: 1),
            kind: try row.value(atIndex: 2, column: "event.kind"),
            urn: try row.decode(String.self, atIndex: 3),
            subStreamId: try row.decode(String.self, atIndex: 4),
            checkState: checkState,
            previousHealth: try row.optionalValue(atIndex: 10, column: "event.previousHealth"),
            deletionReason: try row.optionalValue(atIndex: 11, column: "event.deletionReason"),
            errorCode: try row.optionalValue(atIndex: 12, column: "event.errorCode"),
            detail: try row.decode(String?.self, atIndex: 13)
        )
    }
}

extension Row {
    /// A time stored as REAL seconds since 1970.
    func date(atIndex index: Int) throws -> Date {
        Date(timeIntervalSince1970: try decode(Double.self, atIndex: index))
    }

    /// A time stored as REAL seconds since 1970, or `NULL`.
    func optionalDate(atIndex index: Int) throws -> Date? {
        try decode(Double?.self, atIndex: index).map(Date.init(timeIntervalSince1970:))
    }

    /// A model enum stored as its raw value.
    func value<Value: RawRepresentable>(atIndex index: Int, column: String) throws -> Value
    where Value.RawValue == String {
        let raw = try decode(String.self, atIndex: index)
        guard let value = Value(rawValue: raw) else { throw SQLiteHealthStore.corrupt(column, raw) }
        return value
    }

    /// A model enum stored as its raw value, or `NULL`.
    func optionalValue<Value: RawRepresentable>(atIndex index: Int, column: String) throws -> Value?
    where Value.RawValue == String {
        guard let raw = try decode(String?.self, atIndex: index) else { return nil }
        guard let value = Value(rawValue: raw) else { throw SQLiteHealthStore.corrupt(column, raw) }
        return value
    }
}

extension Date {
    /// The stored form of a time: REAL seconds since 1970.
    var storedValue: Double { timeIntervalSince1970 }
}
