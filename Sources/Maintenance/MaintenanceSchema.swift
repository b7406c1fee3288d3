import Store

/// Every migration of the store, of every part of Steward, in the order they apply: the one place
/// they are registered. Each gives its SQL for both dialects.
public enum StewardSchema {
    public static var migrations: [Migration] { MaintenanceSchema.migrations + JobStore.migrations + ClusterNodes.migrations + JobSchedules.migrations }
}

/// Schema owned by the maintenance domain.
public enum MaintenanceSchema {
    public static let migrations: [Migration] = [
        Migration(
            name: "0001_server_busy",
            sqlite: """
                CREATE TABLE ServerBusy (
                    Id INTEGER PRIMARY KEY NOT NULL CHECK (Id = 1),
                    ExpiresAt INTEGER NOT NULL,
                    SetAt INTEGER NOT NULL
                );
                """,
            postgres: """
                CREATE TABLE IF NOT EXISTS ServerBusy (
                    Id INTEGER PRIMARY KEY CHECK (Id = 1),
                    ExpiresAt BIGINT NOT NULL,
                    SetAt BIGINT NOT NULL
                );
                """)
    ]
}
