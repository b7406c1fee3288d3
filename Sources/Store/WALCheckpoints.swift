import CSQLite
import StewardModel
import Synchronization

/// Moves the writer's WAL into the database file off the request path.
///
/// Why: SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1000 pages, so
/// one request in every ~150 job creations paid for copying the WAL back and two `fdatasync`s — on
/// a connection loop, where every other connection of that loop waited too (7–8 % of a creation's
/// time at one connection). Here the commit only asks; a blocking-pool thread takes the writer (so
/// no write lands while it copies, and the WAL is fully backfilled and restarts at the next write)
/// and checkpoints. Writes that arrive meanwhile wait as combined writes and are committed by it.
///
/// A checkpoint that never gets the writer (a thread that writes without pause) must not let the
/// WAL grow without end: past `inlineFrames` the commit checkpoints itself, as SQLite would.
final class WALCheckpoints: Sendable {
    /// WAL frames past which a checkpoint is asked for (SQLite's default automatic checkpoint).
    let requestFrames: Int32
    /// WAL frames past which the committing thread checkpoints at once.
    let inlineFrames: Int32
    /// Runs a requested checkpoint; the pool's blocking pool, or a test's hand.
    private let schedule: @Sendable (@escaping @Sendable () -> Void) -> Void
    private let requested = Atomic<Bool>(false)
    /// Set by the pool: the checkpoint itself, on the writer, under its lock.
    let run = Locked<(@Sendable () -> Void)?>(nil)

    init(requestFrames: Int32 = 1000, inlineFrames: Int32 = 8000,
         schedule: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { BlockingPool.shared.submit($0) }) {
        self.requestFrames = requestFrames
        self.inlineFrames = max(requestFrames, inlineFrames)
        self.schedule = schedule
    }

    /// Replaces SQLite's automatic checkpoint on `conn` (the pool's writer) with this one.
    func install(on conn: Connection) {
        conn.walCheckpoints = self
        sqlite3_wal_hook(conn.handle, { context, db, name, frames in
            guard let context, let db else { return SQLITE_OK }
            let checkpoints = Unmanaged<WALCheckpoints>.fromOpaque(context).takeUnretainedValue()
            checkpoints.committed(db: db, schema: name, frames: frames)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Called inside each commit on the writer with the WAL's frame count.
    private func committed(db: OpaquePointer, schema: UnsafePointer<CChar>?, frames: Int32) {
        if frames >= inlineFrames {
            // What SQLite's own hook does; PASSIVE never waits for a lock.
            sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
        guard frames >= requestFrames,
              requested.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        schedule { [self] in
            // Cleared before the writer is taken: a commit that lands first, and finds the WAL
            // still long after this checkpoint, may ask again (a second one costs little).
            requested.store(false, ordering: .releasing)
            run.withLock { $0 }?()
        }
    }
}
