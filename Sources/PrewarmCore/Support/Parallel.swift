// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// Work shared by the threads of one ``parallelFor(count:threads:body:)`` call: a mutex-protected
/// counter handing out indices, and the body. Passed to each pthread as an `Unmanaged` reference.
private final class ParallelJob: @unchecked Sendable {
    // @unchecked: `next` is only touched under `mutex`; `body` is @Sendable; everything else is immutable.
    let count: Int
    let body: @Sendable (Int) -> Void
    #if canImport(Glibc)
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    #endif
    var next = 0

    init(count: Int, body: @escaping @Sendable (Int) -> Void) {
        self.count = count
        self.body = body
        #if canImport(Glibc)
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        #endif
    }

    deinit {
        #if canImport(Glibc)
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
        #endif
    }

    func claim() -> Int? {
        #if canImport(Glibc)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        #endif
        guard next < count else { return nil }
        let index = next
        next += 1
        return index
    }

    func run() {
        while let index = claim() {
            body(index)
        }
    }
}

/// Calls `body(i)` for every `i` in `0 ..< count`, on up to `threads` threads (the calling thread is one
/// of them), and returns when all calls have finished.
///
/// Indices are handed out dynamically, so *which* thread runs an index is unspecified: for reproducible
/// results, `body(i)` must depend only on `i` and write only its own result slot (see ``parallelMap``).
/// If a thread cannot be created, the remaining work simply runs on fewer threads.
/// - Complexity: `count` calls of `body`, plus O(threads) thread creations.
public func parallelFor(count: Int, threads: Int, body: @escaping @Sendable (Int) -> Void) {
    guard count > 0 else { return }
    let job = ParallelJob(count: count, body: body)
    let workers = min(max(threads, 1), count, 256)
    #if canImport(Glibc)
    var handles: [pthread_t] = []
    if workers > 1 {
        for _ in 1 ..< workers {
            let argument = Unmanaged.passRetained(job).toOpaque()
            var handle = pthread_t()
            let status = pthread_create(
                &handle, nil,
                { raw in
                    if let raw {
                        let job = Unmanaged<ParallelJob>.fromOpaque(raw).takeRetainedValue()
                        job.run()
                    }
                    return nil
                }, argument)
            if status == 0 {
                handles.append(handle)
            } else {
                Unmanaged<ParallelJob>.fromOpaque(argument).release()
            }
        }
    }
    job.run()
    for handle in handles {
        pthread_join(handle, nil)
    }
    #else
    job.run()
    #endif
}

/// Result slots written by exactly one index each.
private final class SlotBox<T: Sendable>: @unchecked Sendable {
    // @unchecked: slot i is written only by the call for index i, and read only after all calls joined.
    let slots: UnsafeMutablePointer<T?>
    let count: Int

    init(count: Int) {
        self.count = count
        slots = UnsafeMutablePointer<T?>.allocate(capacity: max(count, 1))
        slots.initialize(repeating: nil, count: max(count, 1))
    }

    deinit {
        slots.deinitialize(count: max(count, 1))
        slots.deallocate()
    }
}

/// `(0 ..< count).map(transform)`, computed on up to `threads` threads; the result order is the index
/// order whatever the thread count.
/// - Complexity: `count` calls of `transform`.
public func parallelMap<T: Sendable>(count: Int, threads: Int, _ transform: @escaping @Sendable (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    let box = SlotBox<T>(count: count)
    parallelFor(count: count, threads: threads) { index in
        box.slots[index] = transform(index)
    }
    var result: [T] = []
    result.reserveCapacity(count)
    for index in 0 ..< count {
        if let value = box.slots[index] {
            result.append(value)
        }
    }
    return result
}
