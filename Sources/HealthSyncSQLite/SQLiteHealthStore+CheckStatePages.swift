import Foundation
internal import GRDB
import HealthSync

extension SQLiteHealthStore {
    /// One page of check states, read from the primary key's index: the page, never the whole table, is in memory.
    ///
    /// Sorted by URN, sub-stream (main first) and id in SQLite's byte order, as ``checkStates(urn:subStreamId:)``.
    /// - Throws: ``HealthSync/StorageError``.
    public func checkStates(
        urn: String?,
        subStreamId: String?,
        healths: Set<Health>?,
        after position: CheckStatePosition?,
        limit: Int
    ) async throws(StorageError) -> [StoredCheckState] {
        try await read("reading a page of check states") { db in
            var (conditions, arguments) = Self.checkStateFilter(urn: urn, subStreamId: subStreamId)
            if let healths {
                let values = healths.map(\.rawValue).sorted()
                let placeholders = Array(repeating: "?", count: values.count).joined(separator: ",")
                conditions.append(values.isEmpty ? "0" : "health IN (\(placeholders))")
                arguments += StatementArguments(values)
            }
            if let position {
                conditions.append("(urn, subStreamId, checkStateId) > (?, ?, ?)")
                arguments += [position.key.urn, position.key.subStreamId, position.checkStateId]
            }
            arguments += [max(1, limit)]
            let statement = try db.cachedStatement(
                sql: "SELECT \(Self.checkStateColumns) FROM checkState\(Self.whereClause(conditions)) "
                    + "ORDER BY urn, subStreamId, checkStateId LIMIT ?"
            )
            return try Self.fetch(statement, arguments, Self.storedCheckState)
        }
    }
}

extension SQLiteHealthStore {
    /// The conditions and arguments that select the check states of a stream and sub-stream (each `nil` for any).
    static func checkStateFilter(urn: String?, subStreamId: String?) -> (conditions: [String], StatementArguments) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let urn {
            conditions.append("urn = ?")
            arguments += [urn]
        }
        if let subStreamId {
            conditions.append("subStreamId = ?")
            arguments += [subStreamId]
        }
        return (conditions, arguments)
    }
}
