/* Prewarm — the system SQLite (libsqlite3-dev) for the job history store (daemon and CLI only). */
#ifndef PREWARM_CSQLITE_SHIM_H
#define PREWARM_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
