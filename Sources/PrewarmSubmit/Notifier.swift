// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The submissions the daemon is told of, sent off the submit path. A non-blocking `sendto` to a listening daemon
// cost the submit path about 4.6 µs per job outside slurmctld (bench/submit-latency with PREWARM_BENCH_LISTEN),
// twice the rest of the work for a job submitted again; now the submit path appends a notice to a preallocated queue
// and this file's thread formats and sends it.

import CPrewarmSubmit
import PrewarmCore

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking Unix datagram sender: a missing daemon costs one failed `sendto`, never a wait.
struct DatagramSocket {
    private let fd: Int32
    private let address: UnixSocketAddress

    init?(path: String) {
        guard let address = UnixSocketAddress(path: path) else { return nil }
        let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { return nil }
        fd = s
        self.address = address
    }

    func close() { _ = Glibc.close(fd) }

    /// After a send found no daemon, further sends are skipped (and counted as drops) for this long, so a
    /// stopped daemon costs nothing but a clock read per notice.
    static let retryAfterNanoseconds: UInt64 = 1_000_000_000
    private var quietUntil: UInt64 = 0

    enum SendResult {
        case sent
        /// The daemon's socket buffer is full: worth trying again shortly.
        case full
        /// Not sent, dropped: `errno` of the failed send (ENOENT or ECONNREFUSED: nobody listens), or 0 during the
        /// quiet period after a failure.
        case failed(Int32)
    }

    /// True during the quiet period after a send found no daemon (a send would fail without trying).
    var isQuiet: Bool { monotonicNanoseconds() < quietUntil }

    /// Sends one datagram, never waiting.
    mutating func send(_ message: [UInt8]) -> SendResult {
        let now = monotonicNanoseconds()
        if now < quietUntil { return .failed(0) }
        let n = message.withUnsafeBytes { buffer -> Int in
            address.withSockaddr { sa, length in
                sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), sa, length)
            }
        }
        if n == message.count { return .sent }
        let code = n < 0 ? errno : EMSGSIZE
        if n < 0 && (code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS) { return .full }
        // Nobody listens, or a socket slurmctld's user may not write to (EACCES) or something else at the path: the
        // same quiet period, so a misconfiguration costs no more than a stopped daemon.
        if n < 0 { quietUntil = now &+ Self.retryAfterNanoseconds }
        return .failed(code)
    }
}

/// Submissions for the daemon. The submit path appends a notice to a queue preallocated for ``capacity`` notices,
/// under a mutex held only for that append, and makes no system call except to wake the sender from a long sleep
/// (the first submission after a second without any). The sender thread polls the queue every 50 ms while
/// submissions come, formats what it finds and sends it as lines of as few datagrams as fit (at most
/// ``SubmitNotice/maxDatagramBytes`` each), and sleeps until woken after a second without any. A full
/// queue drops the notice (counted), as a full socket buffer did.
final class Notifier: @unchecked Sendable {
    static let capacity = 4096
    /// The sender's poll: notices reach the daemon within about this (its loop acts once a minute), and the thread
    /// wakes 20 times a second while submissions come (at 10 ms, its wake-ups were 6 % of the plugin's samples in a
    /// `perf record` of slurmctld under 2,500 submissions a second).
    static let pollNanoseconds = 50_000_000
    /// Empty polls (50 ms each) before the sender sleeps until the next submission wakes it.
    static let emptyPollsBeforeSleep = 20

    private var socket: DatagramSocket
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by mutex. The notices not yet taken by the sender, in submission order (capacity reserved: appending
    // never allocates); the sender swaps it with its own empty array, so the mutex is held for a swap.
    // `@exclusivity(unchecked)`: accessed under the mutex only (no dynamic exclusivity check on the submit path,
    // as in ``Engine``).
    @exclusivity(unchecked) private var queue: [SubmitNotice] = []
    @exclusivity(unchecked) private var sleeping = false
    @exclusivity(unchecked) private var stopping = false
    @exclusivity(unchecked) private var sent: UInt64 = 0
    @exclusivity(unchecked) private var dropped: UInt64 = 0
    // Owned by start/stop (the library's init and fini).
    private var thread: pthread_t?

    /// slurmctld's log (the library's log callback), for the one line a misconfigured socket gets.
    private let log: prewarm_log_fn?
    private let path: String
    /// The errno of the send failure last logged (sender thread only); 0 while sends work or nobody listens.
    private var reportedFailure: Int32 = 0

    init?(path: String, log: prewarm_log_fn? = nil) {
        guard let socket = DatagramSocket(path: path) else { return nil }
        self.socket = socket
        self.log = log
        self.path = path
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        pthread_cond_init(condition, nil)
        queue.reserveCapacity(Self.capacity)
    }

    deinit {
        socket.close()
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// The submit path: stores the notice for the sender (or counts a drop when the queue is full).
    func enqueue(_ notice: SubmitNotice) {
        pthread_mutex_lock(mutex)
        if queue.count < Self.capacity {
            queue.append(notice)
        } else {
            dropped &+= 1
        }
        let wake = sleeping
        sleeping = false
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
    }

    /// Notices sent and dropped (nobody listening, socket buffer or queue full) so far.
    func counts() -> (sent: UInt64, dropped: UInt64) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return (sent, dropped)
    }

    /// Starts the sender thread; returns pthread_create's error (0 on success; without the thread, notices stay
    /// queued and are dropped once the queue is full).
    func start() -> Int32 {
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            guard let arg else { return nil }
            nameThisThread("prewarm-notify")
            Unmanaged<Notifier>.fromOpaque(arg).takeUnretainedValue().run()
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
        if rc == 0 { thread = tid }
        return rc
    }

    /// Sends what is queued and stops the sender thread.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        sleeping = false
        pthread_mutex_unlock(mutex)
        pthread_cond_signal(condition)
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    private func run() {
        // Notices taken from the queue and not sent yet (the daemon's socket buffer was full): tried again after a
        // poll's pause, oldest first; the queue's notices beyond ``capacity`` waiting are dropped (counted).
        var pending: [SubmitNotice] = []
        pending.reserveCapacity(Self.capacity)
        var taken: [SubmitNotice] = []
        taken.reserveCapacity(Self.capacity)
        var emptyPolls = 0
        // Stopping with the daemon's socket full: it gets up to ``stopRetries`` short pauses to read, then the rest
        // is dropped (a 50 ms poll leaves up to a poll's submissions for the last send, more than the socket holds).
        var stopRetries = 0
        while true {
            pthread_mutex_lock(mutex)
            if queue.isEmpty && pending.isEmpty {
                if stopping {
                    pthread_mutex_unlock(mutex)
                    return
                }
                if emptyPolls >= Self.emptyPollsBeforeSleep {
                    sleeping = true
                    while sleeping && !stopping { pthread_cond_wait(condition, mutex) }
                    pthread_mutex_unlock(mutex)
                    emptyPolls = 0
                    continue
                }
                pthread_mutex_unlock(mutex)
                emptyPolls &+= 1
                Self.pause()
                continue
            }
            swap(&queue, &taken)
            let finishing = stopping
            pthread_mutex_unlock(mutex)
            emptyPolls = 0
            var failed: UInt64 = 0
            for notice in taken {
                if pending.count < Self.capacity { pending.append(notice) } else { failed &+= 1 }
            }
            taken.removeAll(keepingCapacity: true)
            var ok: UInt64 = 0
            var done = 0
            // The notices as lines of datagrams of at most SubmitNotice.maxDatagramBytes (one sendto for each).
            sending: while done < pending.count {
                if socket.isQuiet {
                    failed &+= UInt64(pending.count &- done)  // nobody listened a moment ago: not even formatted
                    done = pending.count
                    break
                }
                let (datagram, packed) = SubmitNotice.datagram(pending[done...])
                let end = done &+ Swift.max(packed, 1)
                let n = UInt64(end &- done)
                switch socket.send(datagram) {
                case .sent:
                    ok &+= n
                    if reportedFailure != 0 {
                        reportedFailure = 0
                        say(0, "notifying prewarmd at \(path) again")
                    }
                case .failed(let code):
                    failed &+= n
                    // A daemon that is not running is normal (counted, not logged); anything else is a
                    // misconfiguration an admin must hear of: said once per cause, from this thread.
                    if code != 0 && code != ENOENT && code != ECONNREFUSED && code != reportedFailure {
                        reportedFailure = code
                        say(
                            1,
                            "cannot notify prewarmd at \(path) as uid \(geteuid()): \(String(cString: strerror(code))) "
                                + "(the socket must be writable for slurmctld's user; prewarmd makes it mode 0666); "
                                + "notices are dropped and counted, said once")
                    }
                case .full:
                    guard finishing else { break sending }
                    if stopRetries < Self.stopRetries {
                        stopRetries &+= 1
                        Self.pause(nanoseconds: Self.fullPauseNanoseconds)
                        continue sending
                    }
                    failed &+= n  // stopping, and the daemon did not read for a while: no more waiting
                }
                done = end
            }
            pending.removeFirst(done)
            pthread_mutex_lock(mutex)
            sent &+= ok
            dropped &+= failed
            pthread_mutex_unlock(mutex)
            // The daemon's socket was full: a short pause for it to read (not a whole poll, while the queue fills).
            if !pending.isEmpty { Self.pause(nanoseconds: Self.fullPauseNanoseconds) }
        }
    }

    private func say(_ level: Int32, _ message: String) {
        guard let log else { return }
        message.withCString { log(level, $0) }
    }

    /// The pause before sending again to a full daemon socket.
    static let fullPauseNanoseconds = 5_000_000
    /// Pauses of 5 ms a stop waits at most for a full daemon socket (a second in all).
    static let stopRetries = 200

    private static func pause(nanoseconds: Int = pollNanoseconds) {
        var pause = timespec(tv_sec: 0, tv_nsec: nanoseconds)
        nanosleep(&pause, nil)
    }
}
