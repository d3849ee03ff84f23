internal import GRDB
import HealthSync

/// A bulk load into an empty event record builds the record's stream index once, at its end.
///
/// Every event a commit writes goes into two B-trees: the record itself, keyed by time and appended to, and the
/// index `event_stream` (stream, sub-stream, time), which `history`, `diff`, `audit` and `state --at` read a stream's
/// events through and where each event lands among the other streams'. A replay of a capture writes hundreds of
/// thousands of events; kept up as it goes, the index costs the writer about 30 % of each event's insert and more
/// pages each commit, while built once from the finished record (SQLite sorts the entries) it costs a fraction of
/// that.
///
/// So a load into a database whose event record is empty drops the index first
/// (``deferEventStreamIndexForBulkLoad()``) and builds it when it ends (``buildEventStreamIndex()``). Nothing reads
/// differently meanwhile: a query that finds no index scans the record, with the same answers. A load killed
/// half-way leaves the index out; the next writable open of the file builds it
/// (``init(path:durability:readOnly:contextCacheCapacity:)``), and a read-only open, which cannot, answers by
/// scanning.
extension SQLiteHealthStore {
    /// The index a bulk load defers, as the schema (migration `v3`) creates it.
    static let eventStreamIndexSQL = "CREATE INDEX event_stream ON eventRecord(urn, subStreamId, at)"

    /// Drops the event record's stream index for a bulk load when the record is empty, so that the load does not keep
    /// it up event by event; ``buildEventStreamIndex()`` builds it again when the load ends. A record that holds
    /// events keeps its index: rebuilding it would cost more than the load saves.
    /// - Returns: Whether the index was dropped (and must be built at the end).
    /// - Throws: ``HealthSync/StorageError``; the index is then unchanged.
    public func deferEventStreamIndexForBulkLoad() throws(StorageError) -> Bool {
        try writeOnCallersThread("deferring the event index for a bulk load") { db in
            let holdsEvents = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM eventRecord)") ?? true
            guard !holdsEvents, try Self.hasEventStreamIndex(db)
            else { return false }
            try db.execute(sql: "DROP INDEX event_stream")
            return true
        }
    }

    /// Builds the event record's stream index when the file has none (a bulk load deferred it, or was killed
    /// before it built it again); does nothing otherwise.
    /// - Throws: ``HealthSync/StorageError``; the record is unchanged then, and answers without the index.
    public func buildEventStreamIndex() throws(StorageError) {
        try writeOnCallersThread("building the event index") { db in try Self.buildEventStreamIndex(db) }
    }

    /// ``buildEventStreamIndex()`` inside a transaction of the caller's.
    ///
    /// The views are created again after the index, as the migrations created them after it: the schema then lists
    /// its objects in the same order as a file whose index was never dropped, and `.dump` prints the same text.
    static func buildEventStreamIndex(_ db: Database) throws {
        guard try !hasEventStreamIndex(db) else { return }
        let views = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY rowid")
        for view in views {
            let name: String = view["name"]
            try db.execute(sql: "DROP VIEW \(name.quotedDatabaseIdentifier)")
        }
        try db.execute(sql: eventStreamIndexSQL)
        for view in views {
            let sql: String = view["sql"]
            try db.execute(sql: sql)
        }
    }

    /// Whether the file has the event record's stream index.
    static func hasEventStreamIndex(_ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'event_stream')")
            ?? false
    }
}
