import Foundation

/// Elapsed-time helpers for rates.
public enum Rates {
    /// Runs `body` and returns its result and elapsed seconds.
    public static func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let value = try await body()
        let elapsed = clock.now - start
        return (value, seconds(elapsed))
    }

    /// A duration in seconds.
    public static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// `count / seconds`, rounded, as the benchmark plugin's custom metrics need integers.
    public static func perSecond(_ count: Int, _ seconds: Double) -> Int {
        seconds > 0 ? Int((Double(count) / seconds).rounded()) : 0
    }
}

/// A scratch directory removed on ``remove()``.
public struct ScratchDirectory: Sendable {
    /// Its path.
    public let path: String

    /// Creates a fresh directory under `$HEALTHSYNC_BENCH_DIR`, or the system's temporary directory.
    public init(_ name: String) throws {
        let base = ProcessInfo.processInfo.environment["HEALTHSYNC_BENCH_DIR"] ?? NSTemporaryDirectory()
        path = URL(fileURLWithPath: base).appendingPathComponent("healthsync-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A file path inside it.
    public func file(_ name: String) -> String { path + "/" + name }

    /// The size of a database with its `-wal` file, in bytes.
    public func databaseBytes(_ name: String) -> Int {
        [name, name + "-wal"].reduce(0) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: self.file(file))[.size] as? Int) ?? nil
            return total + (size ?? 0)
        }
    }

    /// Deletes it.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
