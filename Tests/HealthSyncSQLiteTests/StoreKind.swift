import Foundation
import HealthSync
import HealthSyncSQLite
import Testing

/// The stores every contract test runs over.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// ``InMemoryHealthStore``.
    case inMemory
    /// ``SQLiteHealthStore/inMemory()``.
    case sqliteInMemory
    /// ``SQLiteHealthStore`` on a file in a temporary directory (WAL, `synchronous = FULL`).
    case sqliteFile
    /// ``SQLiteHealthStore`` on a file without its context cache: every read is SQL.
    case sqliteFileUncached
    /// ``SQLiteHealthStore`` on a file with a context cache of 40 entries, which drops entries all the time.
    case sqliteFileTinyCache

    var testDescription: String { rawValue }

    /// A factory of empty stores; file stores each get a new file in `directory`.
    func factory(in directory: URL) -> @Sendable () async throws -> any HealthStoreQueries {
        switch self {
        case .inMemory:
            return { InMemoryHealthStore() }
        case .sqliteInMemory:
            return { try SQLiteHealthStore.inMemory() }
        case .sqliteFile:
            return { try SQLiteHealthStore(path: temporaryFile(in: directory)) }
        case .sqliteFileUncached:
            return { try SQLiteHealthStore(path: temporaryFile(in: directory), contextCacheCapacity: 0) }
        case .sqliteFileTinyCache:
            return { try SQLiteHealthStore(path: temporaryFile(in: directory), contextCacheCapacity: 40) }
        }
    }
}

/// A new path for a database file in `directory`.
func temporaryFile(in directory: URL, named name: String = UUID().uuidString) -> String {
    directory.appending(path: "\(name).sqlite").path(percentEncoded: false)
}

/// Runs `body` with a new empty directory, and removes the directory afterwards.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appending(path: "healthsync-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}
