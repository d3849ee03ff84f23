#include "CSQLiteSettings.h"

#include <sqlite3.h>

int healthsync_sqlite3_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
