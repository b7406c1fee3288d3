import StewardModel
import Store

/// What a creation with a schedule window did: created the window's job, or found the one another
/// caller (another node's timer) created in it first.
public enum ScheduledCreation: Sendable {
    case created(Job)
    case existing(Job)
}

/// The window keys in the store (`StewardJobSchedules`): one row per type, data and window, its
/// primary key the constraint that lets only one creation through, whichever node it comes from.
enum JobSchedules {
    static let migrations: [Migration] = [
        Migration(
            name: "0005_job_schedules",
            sqlite: """
                CREATE TABLE StewardJobSchedules (
                    ScheduleKey TEXT PRIMARY KEY NOT NULL, Type TEXT NOT NULL, PeriodSeconds INTEGER NOT NULL,
                    WindowStart INTEGER NOT NULL, WindowEnd INTEGER NOT NULL, JobId TEXT NOT NULL, NodeName TEXT NOT NULL
                );
                CREATE INDEX idx_steward_job_schedules_window_end ON StewardJobSchedules (WindowEnd);
                """,
            postgres: """
                CREATE TABLE IF NOT EXISTS StewardJobSchedules (
                    ScheduleKey VARCHAR(64) PRIMARY KEY, Type VARCHAR(32) NOT NULL, PeriodSeconds BIGINT NOT NULL,
                    WindowStart BIGINT NOT NULL, WindowEnd BIGINT NOT NULL, JobId VARCHAR(26) NOT NULL, NodeName VARCHAR(64) NOT NULL
                );
                CREATE INDEX IF NOT EXISTS idx_steward_job_schedules_window_end ON StewardJobSchedules (WindowEnd);
                """),
    ]

    /// The key of a window: type, period, window start and the job's data (its canonical JSON:
    /// keys sorted), hashed to a fixed length.
    static func key(type: String, data: [String: String], window: ScheduleWindow) -> String {
        let text = "\(type)\u{0}\(window.periodSeconds)\u{0}\(window.startMilliseconds)\u{0}\(Job.dataJSON(data))"
        return SHA256.hex(Array(text.utf8))
    }
}

extension JobStore {
    /// Creates the job unless one of the same type and data was created in the current window of
    /// `periodSeconds`, by any node; then that one is returned. One transaction: the window's key
    /// and the job are written together, and a concurrent creation in the same window waits on
    /// the key and then finds it taken. Keys of windows that have ended are removed on the way.
    public func create(type: String, data: [String: String], oncePer periodSeconds: Int64) async throws -> ScheduledCreation {
        let now = clock.nowMilliseconds()
        let window = ScheduleWindow(periodSeconds: periodSeconds, now: now)
        let key = JobSchedules.key(type: type, data: data, window: window)
        let job = Job(id: NewID.make(), type: type, createAt: now, status: .pending, data: data)
        let notify = notifiesOthers
        let existingId: String? = try await db.writeSQL { [nodeName] conn in try conn.transaction {
            try conn.run("DELETE FROM StewardJobSchedules WHERE WindowEnd <= ?", [.int(now)])
            let inserted = try conn.run("""
                INSERT INTO StewardJobSchedules (ScheduleKey, Type, PeriodSeconds, WindowStart, WindowEnd, JobId, NodeName)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ScheduleKey) DO NOTHING
                """, [.text(key), .text(type), .int(periodSeconds), .int(window.startMilliseconds), .int(window.endMilliseconds),
                      .text(job.id), .text(nodeName)])
            if inserted == 1 {
                try Self.insert(conn, job, notify: notify)
                return nil
            }
            return try conn.first("SELECT JobId FROM StewardJobSchedules WHERE ScheduleKey = ?", [.text(key)]) { $0.string(0) } ?? ""
        } }
        guard let existingId else { return .created(job) }
        // The window's job may have been deleted since (a finished job can be): the window stays
        // taken — deleting a job is not asking for another one.
        guard let existing = try await get(existingId) else { throw JobError.windowTaken(jobId: existingId) }
        return .existing(existing)
    }
}
