#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a `pthread_mutex_t`, used instead of `Synchronization.Mutex` everywhere in
/// Steward. Why: on Linux `Mutex` hands a contended lock over through the kernel (PI futexes), which
/// ThreadSanitizer cannot see, so every contended `withLock` body read as a data race and a TSan run
/// could not tell real races from the lock's own hand-offs. TSan intercepts pthread mutexes; the
/// uncontended cost is the same (one atomic each way).
public final class Locked<State: ~Copyable>: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline var state: State

    public init(_ state: consuming State) {
        self.state = state
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock.
    @inlinable
    public func withLock<Result, Failure: Error>(_ body: (inout State) throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body(&state)
    }

    /// Runs `body` only if the lock is free now; nil when another thread holds it.
    @inlinable
    public func withLockIfAvailable<Result, Failure: Error>(_ body: (inout State) throws(Failure) -> Result) throws(Failure) -> Result? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { unlock() }
        return try body(&state)
    }

    @usableFromInline func lock() { pthread_mutex_lock(mutex) }
    @usableFromInline func unlock() { pthread_mutex_unlock(mutex) }
}
