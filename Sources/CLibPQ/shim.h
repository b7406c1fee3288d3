#ifndef STEWARD_CLIBPQ_SHIM_H
#define STEWARD_CLIBPQ_SHIM_H
/* Debian's libpq-dev: /usr/include/postgresql (pkg-config libpq gives the -I). */
#include <libpq-fe.h>

/* A notice processor that drops notices: libpq's default prints them on stderr. */
static inline void steward_pq_ignore_notice(void *arg, const char *message) { (void)arg; (void)message; }
static inline void steward_pq_quiet(PGconn *conn) { PQsetNoticeProcessor(conn, steward_pq_ignore_notice, 0); }
#endif
