#ifndef STEWARD_CLIBPQ_SHIM_H
#define STEWARD_CLIBPQ_SHIM_H
/* Debian's libpq-dev puts the headers in /usr/include/postgresql. Only the types and
   prototypes are used at build time: libpq itself is opened with dlopen the first time a
   PostgreSQL store is used, so a daemon on SQLite never loads it (libpq brings about 20 shared
   libraries — TLS, Kerberos, LDAP — and 5 MB of RSS with them). */
#include <postgresql/libpq-fe.h>
#include <dlfcn.h>
#include <stddef.h>

/* The libpq functions Steward calls, resolved from libpq.so.5. */
typedef struct {
    PGconn *(*connectdbParams)(const char *const *keywords, const char *const *values, int expand_dbname);
    ConnStatusType (*status)(const PGconn *conn);
    char *(*errorMessage)(const PGconn *conn);
    void (*finish)(PGconn *conn);
    PGresult *(*exec)(PGconn *conn, const char *query);
    PGresult *(*execParams)(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                            const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat);
    ExecStatusType (*resultStatus)(const PGresult *res);
    char *(*resultErrorField)(const PGresult *res, int fieldcode);
    char *(*resultErrorMessage)(const PGresult *res);
    void (*clear)(PGresult *res);
    int (*ntuples)(const PGresult *res);
    int (*nfields)(const PGresult *res);
    char *(*fname)(const PGresult *res, int field_num);
    int (*getisnull)(const PGresult *res, int tup_num, int field_num);
    char *(*getvalue)(const PGresult *res, int tup_num, int field_num);
    char *(*cmdTuples)(PGresult *res);
    int (*serverVersion)(const PGconn *conn);
    int (*backendPID)(const PGconn *conn);
    PQnoticeProcessor (*setNoticeProcessor)(PGconn *conn, PQnoticeProcessor proc, void *arg);
    PGresult *(*prepare)(PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes);
    PGresult *(*execPrepared)(PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues,
                              const int *paramLengths, const int *paramFormats, int resultFormat);
    int (*getlength)(const PGresult *res, int tup_num, int field_num);
    int (*socket)(const PGconn *conn);
    int (*consumeInput)(PGconn *conn);
    PGnotify *(*notifies)(PGconn *conn);
    void (*freemem)(void *ptr);
    /* Pipeline mode (libpq 14 and later; NULL with an older libpq, and batches are sent one
       statement at a time instead). */
    int (*enterPipelineMode)(PGconn *conn);
    int (*exitPipelineMode)(PGconn *conn);
    int (*pipelineSync)(PGconn *conn);
    int (*sendQueryParams)(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                           const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat);
    int (*sendQueryPrepared)(PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues,
                             const int *paramLengths, const int *paramFormats, int resultFormat);
    PGresult *(*getResult)(PGconn *conn);
} steward_pq_api;

/* A notice processor that drops notices: libpq's default prints them on stderr. */
static inline void steward_pq_ignore_notice(void *arg, const char *message) { (void)arg; (void)message; }

/* Opens libpq.so.5 and fills `api`; NULL on success, else dlopen's or dlsym's message. */
static inline const char *steward_pq_load(steward_pq_api *api) {
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) return dlerror();
#define STEWARD_PQ_SYM(field, name) \
    if (!(*(void **)(&api->field) = dlsym(h, name))) return dlerror();
    STEWARD_PQ_SYM(connectdbParams, "PQconnectdbParams")
    STEWARD_PQ_SYM(status, "PQstatus")
    STEWARD_PQ_SYM(errorMessage, "PQerrorMessage")
    STEWARD_PQ_SYM(finish, "PQfinish")
    STEWARD_PQ_SYM(exec, "PQexec")
    STEWARD_PQ_SYM(execParams, "PQexecParams")
    STEWARD_PQ_SYM(resultStatus, "PQresultStatus")
    STEWARD_PQ_SYM(resultErrorField, "PQresultErrorField")
    STEWARD_PQ_SYM(resultErrorMessage, "PQresultErrorMessage")
    STEWARD_PQ_SYM(clear, "PQclear")
    STEWARD_PQ_SYM(ntuples, "PQntuples")
    STEWARD_PQ_SYM(nfields, "PQnfields")
    STEWARD_PQ_SYM(fname, "PQfname")
    STEWARD_PQ_SYM(getisnull, "PQgetisnull")
    STEWARD_PQ_SYM(getvalue, "PQgetvalue")
    STEWARD_PQ_SYM(cmdTuples, "PQcmdTuples")
    STEWARD_PQ_SYM(serverVersion, "PQserverVersion")
    STEWARD_PQ_SYM(backendPID, "PQbackendPID")
    STEWARD_PQ_SYM(setNoticeProcessor, "PQsetNoticeProcessor")
    STEWARD_PQ_SYM(prepare, "PQprepare")
    STEWARD_PQ_SYM(execPrepared, "PQexecPrepared")
    STEWARD_PQ_SYM(getlength, "PQgetlength")
    STEWARD_PQ_SYM(socket, "PQsocket")
    STEWARD_PQ_SYM(consumeInput, "PQconsumeInput")
    STEWARD_PQ_SYM(notifies, "PQnotifies")
    STEWARD_PQ_SYM(freemem, "PQfreemem")
#undef STEWARD_PQ_SYM
#define STEWARD_PQ_OPTIONAL(field, name) *(void **)(&api->field) = dlsym(h, name);
    STEWARD_PQ_OPTIONAL(enterPipelineMode, "PQenterPipelineMode")
    STEWARD_PQ_OPTIONAL(exitPipelineMode, "PQexitPipelineMode")
    STEWARD_PQ_OPTIONAL(pipelineSync, "PQpipelineSync")
    STEWARD_PQ_OPTIONAL(sendQueryParams, "PQsendQueryParams")
    STEWARD_PQ_OPTIONAL(sendQueryPrepared, "PQsendQueryPrepared")
    STEWARD_PQ_OPTIONAL(getResult, "PQgetResult")
#undef STEWARD_PQ_OPTIONAL
    if (!api->enterPipelineMode || !api->exitPipelineMode || !api->pipelineSync || !api->sendQueryParams
        || !api->sendQueryPrepared || !api->getResult) {
        api->enterPipelineMode = NULL;
    }
    return NULL;
}

static inline void steward_pq_quiet(const steward_pq_api *api, PGconn *conn) {
    api->setNoticeProcessor(conn, steward_pq_ignore_notice, NULL);
}
#endif
