import StewardModel

/// Every route Steward serves, in one table (snapd's command table, Mattermost's api4 routes).
///
/// Nothing registers a route anywhere else. `RouteTableTests` fails when a route lacks a permission,
/// is duplicated, or is missing from `docs/openapi.yaml`.
public enum RouteTable {
    public static let prefix = "/api/v4"

    public static let all: [Route] = [
        Route(
            "GET", prefix + "/system/ping", permission: .none, audit: .denialsOnly,
            summary: "Liveness; get_server_status=true adds database_status",
            immediate: SystemHandlers.quickPing, handler: SystemHandlers.ping),
        Route(
            "POST", prefix + "/server_busy", permission: .permission(.manageSystem), audit: .always,
            summary: "Mark the server busy for ?seconds=N (1-86400, default 3600)",
            handler: ServerBusyHandlers.set),
        Route(
            "GET", prefix + "/server_busy", permission: .anyOf([.manageSystem, .readServerBusy]), audit: .denialsOnly,
            summary: "The busy state", immediate: ServerBusyHandlers.quickGet, handler: ServerBusyHandlers.get),
        Route(
            "DELETE", prefix + "/server_busy", permission: .permission(.manageSystem), audit: .always,
            summary: "Clear the busy state", handler: ServerBusyHandlers.clear),
        Route(
            "GET", prefix + "/config", permission: .permission(.manageSystem), audit: .always,
            summary: "The config in force (secrets included: local admin)", handler: ConfigHandlers.get),
        Route(
            "GET", prefix + "/config/environment", permission: .permission(.manageSystem), audit: .denialsOnly,
            summary: "Settings overridden by STEWARD_* environment variables", handler: ConfigHandlers.environment),
        Route(
            "POST", prefix + "/config/reload", permission: .permission(.manageSystem), audit: .always,
            summary: "Re-read the config store and apply it (as SIGHUP)", handler: ConfigHandlers.reload),
        Route(
            "POST", prefix + "/config/migrate", permission: .permission(.manageSystem), audit: .always,
            summary: "Copy a config from one store to another, atomically", handler: ConfigHandlers.migrate),
        Route(
            "POST", prefix + "/integrity", permission: .permission(.manageSystem), audit: .always,
            summary: "Mattermost's relational integrity checks over one snapshot of the store",
            handler: IntegrityHandlers.check),
        Route(
            "GET", prefix + "/cluster/status", permission: .permission(.manageSystem), audit: .denialsOnly,
            summary: "The nodes sharing the store: name, version, last heartbeat, alive", handler: ClusterHandlers.status),
        Route("GET", prefix + "/jobs", permission: .job(.read), audit: .denialsOnly,
              summary: "Jobs, newest first (job_type, status, page, per_page)", immediate: JobHandlers.quickList, handler: JobHandlers.list),
        Route("POST", prefix + "/jobs", permission: .job(.create), audit: .always,
              summary: "Create a job {type, data}; 201", immediate: JobHandlers.quickCreate, handler: JobHandlers.create),
        Route("GET", prefix + "/jobs/types", permission: .permission(.readJobs), audit: .denialsOnly,
              summary: "Every job type: parameters, permissions, artifact, timer (Steward extension)",
              immediate: JobHandlers.quickTypes, handler: JobHandlers.types),
        Route("GET", prefix + "/jobs/{job_id}", permission: .job(.read), audit: .denialsOnly,
              summary: "One job", immediate: JobHandlers.quickGet, handler: JobHandlers.get),
        Route("DELETE", prefix + "/jobs/{job_id}", permission: .job(.manage), audit: .always,
              summary: "Delete a finished job and its files (Steward extension)", handler: JobHandlers.delete),
        Route("POST", prefix + "/jobs/{job_id}/cancel", permission: .job(.create), audit: .always,
              summary: "Cancel a pending or running job", handler: JobHandlers.cancel),
        Route("PATCH", prefix + "/jobs/{job_id}/status", permission: .job(.manage), audit: .always,
              summary: "Set a job's status {status, force}", handler: JobHandlers.updateStatus),
        Route("GET", prefix + "/jobs/{job_id}/download", permission: .job(.download), audit: .always,
              summary: "A finished job's file", handler: JobHandlers.download),
        Route("GET", prefix + "/jobs/{job_id}/logs", permission: .job(.read), audit: .denialsOnly,
              summary: "A job's log lines (offset, limit; Steward extension)", immediate: JobHandlers.quickLogs,
              handler: JobHandlers.logs),
        Route("GET", prefix + "/jobs/type/{job_type}", permission: .job(.read), audit: .denialsOnly,
              summary: "Jobs of one type, newest first (page, per_page)", immediate: JobHandlers.quickByType, handler: JobHandlers.byType),
        Route("GET", prefix + "/exports", permission: .permission(.manageSystem), audit: .denialsOnly,
              summary: "The bulk-export files (export_process), by name", handler: ExportHandlers.list),
        Route("GET", prefix + "/exports/{export_name}", permission: .permission(.manageSystem), audit: .always,
              summary: "One bulk-export file (Range for a resumed download)", handler: ExportHandlers.download),
        Route("DELETE", prefix + "/exports/{export_name}", permission: .permission(.manageSystem), audit: .always,
              summary: "Remove a bulk-export file", handler: ExportHandlers.delete),
        Route(
            "POST", prefix + "/caches/invalidate", permission: .permission(.invalidateCaches), audit: .always,
            summary: "Purge every cache the daemon keeps", handler: MaintenanceHandlers.invalidateCaches),
        Route(
            "POST", prefix + "/database/recycle", permission: .permission(.recycleDatabaseConnections),
            audit: .always, summary: "Close and reopen the store's connections",
            handler: MaintenanceHandlers.recycleDatabase),
    ]

    public static let router = Router(routes: all)
}
