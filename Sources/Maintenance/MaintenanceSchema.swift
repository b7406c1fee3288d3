import Store

/// Schema owned by the maintenance domain.
public enum MaintenanceSchema {
    public static let migrations: [Migration] = [
        Migration(
            name: "0001_server_busy",
            sql: """
                CREATE TABLE ServerBusy (
                    Id INTEGER PRIMARY KEY NOT NULL CHECK (Id = 1),
                    ExpiresAt INTEGER NOT NULL,
                    SetAt INTEGER NOT NULL
                );
                """)
    ]
}
