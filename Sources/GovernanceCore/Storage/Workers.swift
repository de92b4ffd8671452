import Foundation

/// A few threads working through a list: each index handed out once, none after a stop.
public enum Workers {
    /// Runs `body` for each index of `0..<count` on at most `width` threads.
    ///
    /// Returns, once every index handed out has been run, how many were: indices are handed out in
    /// order, and none after this process is asked to stop (`Shutdown`), so `result..<count` never ran.
    @discardableResult
    public static func forEach(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) -> Int {
        let queue = Queue(count: count)
        guard width > 1, count > 1 else {
            while let i = queue.next() { body(i) }
            return queue.handedOut
        }
        let group = DispatchGroup()
        for _ in 0..<min(width, count) {
            group.enter()
            Thread {
                defer { group.leave() }
                while let i = queue.next() { body(i) }
            }.start()
        }
        group.wait()
        return queue.handedOut
    }

    private final class Queue: @unchecked Sendable {
        private let lock = NSLock()
        private var index = 0
        private let count: Int

        init(count: Int) { self.count = count }

        var handedOut: Int { lock.withLock { index } }

        func next() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard index < count, Shutdown.requested == nil else { return nil }
            index += 1
            return index - 1
        }
    }
}
