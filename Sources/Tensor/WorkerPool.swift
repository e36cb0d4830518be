#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels
import Synchronization

/// Threads that stay awake between parallel regions, for `Parallel.forEach`.
///
/// A decoder step is some thirty short parallel regions (the products of each layer, attention,
/// the output projection); at two threads, waking a worker of the system's pool for each cost
/// about as much as a small region's work (docs/DESIGN.md, "Threads"). The workers here spin for
/// a short while after each region, so the next one, usually microseconds away, starts at once,
/// then sleep on a condition variable, so an idle process (a server between requests) costs
/// nothing. One caller at a time: a region started while another runs (a second thread, or a
/// region inside a region) goes to `DispatchQueue.concurrentPerform` as before.
final class WorkerPool: @unchecked Sendable {
    /// The threads besides the caller's.
    let workerCount: Int
    /// How long a worker spins after a region before it sleeps.
    private static let spinNanoseconds: UInt64 = 200_000

    /// Bumped once a region: a worker runs the region whose number it has not seen.
    private let generation = Atomic<Int>(0)
    /// Workers still running the current region.
    private let running = Atomic<Int>(0)
    /// Set while a caller owns the pool.
    private let busy = Atomic<Bool>(false)
    /// Workers asleep (or about to be) on `wakeUp`.
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// The current region: parts and the body of one part. Written before `generation` is bumped
    /// (a releasing store), read after it is seen (an acquiring load).
    private nonisolated(unsafe) var parts = 0
    private nonisolated(unsafe) var body: ((Int) -> Void)?
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(workerCount: Int) {
        self.workerCount = workerCount
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wakeUp, nil)
        for worker in 1...max(1, workerCount) where workerCount > 0 {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: worker)).toOpaque()
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { context in
                let worker = Unmanaged<WorkerContext>.fromOpaque(context!).takeRetainedValue()
                worker.pool.work(index: worker.index)
                return nil
            }, context)
            precondition(created == 0, "pthread_create failed: \(created)")
            pthread_detach(thread)
        }
    }

    /// Waits for the region running, if any, then sends the workers away; the pool runs nothing
    /// more (`run` answers false).
    func stop() {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { sched_yield() }
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(lock)
        pthread_cond_broadcast(wakeUp)
        pthread_mutex_unlock(lock)
    }

    /// Runs `body(part)` for part in 0..<parts (at most `workerCount + 1`), part 0 on the calling
    /// thread, and returns when every part has; false, running nothing, when the pool is in use.
    func run(parts: Int, _ body: (Int) -> Void) -> Bool {
        precondition(parts >= 1 && parts <= workerCount + 1)
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            self.parts = parts
            self.body = body
            running.store(workerCount, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(lock)
                pthread_cond_broadcast(wakeUp)
                pthread_mutex_unlock(lock)
            }
            body(0)
            var spins = 0
            while running.load(ordering: .acquiring) > 0 {
                // A pause hint, not a system call; a yield now and then in case the worker it
                // waits for lost its core (more threads than cores).
                spins += 1
                if spins & 1023 == 0 { sched_yield() } else { nmt_spin_pause() }
            }
            self.body = nil
        }
        return true
    }

    private func work(index: Int) {
        // Region 0 is "none yet", not the generation when this thread starts: a region started
        // before the thread first runs must still find it.
        var seen = 0
        while true {
            seen = waitForRegion(after: seen)
            if stopping.load(ordering: .acquiring) { return }
            // Called through the stored property, not a local copy, so the worker holds no
            // reference once the call returns (`run` lends a non-escaping closure).
            if index < parts { body?(index) }
            running.subtract(1, ordering: .releasing)
        }
    }

    /// Spins until a region after `seen` starts, then sleeps until it does; returns its number.
    private func waitForRegion(after seen: Int) -> Int {
        let start = Self.now()
        var spins = 0
        while true {
            let current = generation.load(ordering: .acquiring)
            if current != seen { return current }
            spins += 1
            nmt_spin_pause()
            if spins & 63 == 0 {
                if Self.now() - start > Self.spinNanoseconds { break }
                if spins & 1023 == 0 { sched_yield() }
            }
        }
        pthread_mutex_lock(lock)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        var current = generation.load(ordering: .sequentiallyConsistent)
        while current == seen {
            pthread_cond_wait(wakeUp, lock)
            current = generation.load(ordering: .sequentiallyConsistent)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(lock)
        return current
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

private final class WorkerContext {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}
