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
        let group = DispatchGroup()
        for _ in 0..<min(max(width, 1), count) {
            group.enter()
            Thread {
                defer { group.leave() }
                while let i = queue.next() { body(i) }
            }.start()
        }
        guard let notRun else { return group.wait() }
        func report() {
            let rest = queue.close()
            if !rest.isEmpty { notRun(rest) }
        }
        while group.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if Shutdown.requested != nil { report() }
        }
        report()
    }

    private final class Queue: @unchecked Sendable {
        private let lock = NSLock()
        private var index = 0
        private let count: Int

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
