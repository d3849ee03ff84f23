internal import CSQLiteSettings

extension SQLiteHealthStore {
    /// Turns SQLite's memory statistics off for the whole process, so that SQLite's allocations stop taking a
    /// process-wide mutex; returns whether SQLite took the setting.
    ///
    /// A setting of the SQLite library, not of a store: it applies to every SQLite connection of the process, and
    /// only when made before the first is opened (SQLite refuses it afterwards, and this returns `false`). Nothing
    /// then answers `sqlite3_memory_used()`; HealthSync does not use it. The `healthsync` command line makes the
    /// setting as it starts; a service that links the library decides for itself. In a replay the writer's thread
    /// spent about 2.5 % of the process's time in that mutex (Docs/performance.md).
    ///
    /// Not thread-safe (like `sqlite3_config`): call it before any other thread uses SQLite.
    @discardableResult
    public static func turnOffMemoryStatistics() -> Bool {
        healthsync_sqlite3_disable_memory_statistics() == 0
    }
}
