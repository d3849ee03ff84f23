import Foundation

/// A new path for a database file in `directory`.
public func temporaryFile(in directory: URL, named name: String = UUID().uuidString) -> String {
    directory.appending(path: "\(name).sqlite").path(percentEncoded: false)
}

/// Runs `body` with a new empty directory, and removes the directory afterwards.
public func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appending(path: "healthsync-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}
