import Postgres
import StewardModel
import Store

/// `db_optimize` on PostgreSQL: `VACUUM (ANALYZE)` of every table of the store's schema, one at a
/// time on a connection of its own (the pool's writer stays free for requests), with the job's
/// progress after each and a cancel honoured between tables. `vacuum=true` changes nothing here:
/// plain `VACUUM` already makes dead rows' space reusable, and `VACUUM FULL` — which would return it
/// to the system — locks each table exclusively, which a live Mattermost cannot take.
enum PostgresOptimize {
    static func run(_ job: Job, _ ctx: JobContext, _ store: PostgresPool) throws -> JobResult {
        let conn = try store.dedicatedConnection()
        let size = { () throws -> Int64 in
            Int64(try conn.query("SELECT pg_database_size(current_database())").scalar ?? "0") ?? 0
        }
        let before = try size()
        let tables = try conn.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename").rows.compactMap { $0.first ?? nil }
        ctx.log(.info, "vacuuming and analyzing \(tables.count) tables")
        for (i, table) in tables.enumerated() {
            try ctx.checkCancelled()
            try conn.execute("VACUUM (ANALYZE) \(quotedIdentifier(table))")
            ctx.progress((i + 1) * 95 / max(tables.count, 1))
        }
        let after = try size()
        ctx.log(.info, "optimized: \(before) → \(after) bytes, \(tables.count) tables vacuumed and analyzed")
        return .success([
            "size_before_bytes": "\(before)", "size_after_bytes": "\(after)", "tables": "\(tables.count)", "vacuumed": "true",
        ])
    }
}
