import Foundation

/// A few threads working through a list: each index handed out once, none after a stop.
public enum Workers {
    /// Runs `body` for each index of `0..<count` on at most `width` threads; returns once every
    /// index handed out has been run.
    ///
    /// Indices are handed out in order, and none after this process is asked to stop (`Shutdown`).
    /// `notRun`, when given, hears at once of a stop which indices will never run (on the calling
    /// thread, while those under way finish); without it they are simply not run.
    public static func forEach(
        _ count: Int, width: Int, notRun: ((Range<Int>) -> Void)? = nil, _ body: @escaping @Sendable (Int) -> Void
    ) {
        let queue = Queue(count: count)
        guard let notRun else {
            guard width > 1, count > 1 else {
                while let i = queue.next() { body(i) }
                return
            }
            run(queue, width: width, body).wait()
            return
        }
        let group = run(queue, width: width, body)
        while group.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if Shutdown.requested != nil { report(queue.close(), to: notRun) }
        }
        report(queue.close(), to: notRun)
    }

    private static func report(_ rest: Range<Int>, to notRun: (Range<Int>) -> Void) {
        if !rest.isEmpty { notRun(rest) }
    }

    /// Starts up to `width` threads (at least one) on `queue`.
    private static func run(_ queue: Queue, width: Int, _ body: @escaping @Sendable (Int) -> Void) -> DispatchGroup {
        let group = DispatchGroup()
        for _ in 0..<min(max(width, 1), queue.count) {
            group.enter()
            Thread {
                defer { group.leave() }
                while let i = queue.next() { body(i) }
            }.start()
        }
        return group
    }

    private final class Queue: @unchecked Sendable {
        private let lock = NSLock()
        private var index = 0
        let count: Int

        init(count: Int) { self.count = count }

        func next() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard index < count, Shutdown.requested == nil else { return nil }
            index += 1
            return index - 1
        }

        /// Hands out nothing more; the indices that were never handed out.
        func close() -> Range<Int> {
            lock.withLock {
                defer { index = count }
                return index..<count
            }
        }
    }
}
