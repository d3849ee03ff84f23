#ifndef CSQLITESETTINGS_H
#define CSQLITESETTINGS_H

/// Turns SQLite's memory statistics off for the whole process: `sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0)`, which
/// Swift cannot call (the function is variadic). Returns SQLite's result code: `SQLITE_OK` (0), or `SQLITE_MISUSE`
/// when SQLite was initialized already (a connection was opened), and the setting is then left as it was.
///
/// With the statistics on (the library's default), every allocation SQLite makes takes a process-wide mutex.
int healthsync_sqlite3_disable_memory_statistics(void);

#endif
