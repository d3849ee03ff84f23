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
                arguments += values.map(DirectStatement.Value.text)
            }
            if let position {
                conditions.append("(urn, subStreamId, checkStateId) > (?, ?, ?)")
                arguments += [.text(position.key.urn), .text(position.key.subStreamId), .text(position.checkStateId)]
            }
            arguments.append(.integer(Int64(max(1, limit))))
            let statement = try DirectStatement(
                db,
                sql: "SELECT \(Self.checkStateColumns) FROM \(Self.checkStateSource)\(Self.whereClause(conditions)) "
                    + "ORDER BY urn, subStreamId, checkStateId LIMIT ?"
            )
            statement.bind(arguments)
            return try statement.fetchAll(Self.storedCheckState)
        }
    }
}

extension SQLiteHealthStore {
    /// The conditions and arguments that select the check states of a stream and sub-stream (each `nil` for any).
    static func checkStateFilter(
        urn: String?,
        subStreamId: String?
    ) -> (conditions: [String], [DirectStatement.Value]) {
        var conditions: [String] = []
        var arguments: [DirectStatement.Value] = []
        if let urn {
            conditions.append("urn = ?")
            arguments.append(.text(urn))
        }
        if let subStreamId {
            conditions.append("subStreamId = ?")
            arguments.append(.text(subStreamId))
        }
        return (conditions, arguments)
    }
}
