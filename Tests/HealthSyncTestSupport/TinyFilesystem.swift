import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small tmpfs mounted for one test, to make real disk faults: a file system that runs out of space, or one
/// remounted read-only. Linux only, with permission to mount (root, as in CI and on the developer machines here).
///
/// ```swift
/// try await TinyFilesystem.with(megabytes: 1) { directory in
///     try TinyFilesystem.fill(directory, leaving: 16 << 10, with: directory + "/filler")
///     // ... writes now fail with ENOSPC; delete the filler to give the space back
/// }
/// ```
public enum TinyFilesystem {
    /// A mount, remount or fill that failed.
    public struct Failure: Error, CustomStringConvertible {
        /// What failed.
        public var description: String
    }

    /// Whether this process can mount and unmount a tmpfs; `HEALTHSYNC_SKIP_MOUNT_TESTS` turns the tests off.
    public static let isAvailable: Bool = {
        #if os(Linux)
        guard ProcessInfo.processInfo.environment["HEALTHSYNC_SKIP_MOUNT_TESTS"] == nil, geteuid() == 0 else {
            return false
        }
        guard let directory = try? makeDirectory() else { return false }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard (try? QuietProcess.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", directory])) == 0
        else {
            return false
        }
        return (try? QuietProcess.run("/usr/bin/umount", [directory])) == 0
        #else
        return false
        #endif
    }()

    /// Runs `body` with a fresh tmpfs of `megabytes` MiB, unmounted and removed afterwards.
    /// - Throws: ``Failure`` when the tmpfs cannot be mounted; whatever `body` throws.
    public static func with(megabytes: Int = 1, _ body: (String) async throws -> Void) async throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let status = try QuietProcess.run(
            "/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", directory])
        guard status == 0 else { throw Failure(description: "mount a tmpfs at \(directory): status \(status)") }
        defer {
            if (try? QuietProcess.run("/usr/bin/umount", [directory])) != 0 {
                _ = try? QuietProcess.run("/usr/bin/umount", ["-l", directory])
            }
        }
        try await body(directory)
    }

    /// Remounts the tmpfs at `directory` read-only or read-write.
    /// - Throws: ``Failure`` when the remount fails (Linux refuses read-only while a file is open for writing).
    public static func remount(_ directory: String, readOnly: Bool) throws {
        let status = try QuietProcess.run("/usr/bin/mount", ["-o", readOnly ? "remount,ro" : "remount,rw", directory])
        guard status == 0 else {
            throw Failure(description: "remount \(directory) \(readOnly ? "read-only" : "read-write"): \(status)")
        }
    }

    /// Writes `file` until `directory`'s file system has about `bytes` free.
    /// - Throws: ``Failure`` when the file system cannot be measured or the file cannot be written.
    public static func fill(_ directory: String, leaving bytes: Int, with file: String) throws {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { throw Failure(description: "statvfs \(directory)") }
        let free = Int(stats.f_bavail) * Int(stats.f_frsize)
        let size = max(0, free - bytes)
        guard FileManager.default.createFile(atPath: file, contents: Data(count: size)) else {
            throw Failure(description: "write \(size) bytes to \(file)")
        }
    }

    private static func makeDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appending(path: "healthsync-mount-\(UUID().uuidString)")
            .path(percentEncoded: false)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
