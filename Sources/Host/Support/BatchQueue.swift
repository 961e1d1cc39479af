import Synchronization

/// An unbounded hand-off queue whose consumer takes everything that has arrived in one go, so that
/// work arriving while a batch is being written lands in the next batch instead of its own.
final class BatchQueue<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func push(_ element: Element) {
        items.withLock { $0.append(element) }
        wake.yield()
    }

    func push(contentsOf elements: [Element]) {
        guard !elements.isEmpty else { return }
        items.withLock { $0.append(contentsOf: elements) }
        wake.yield()
    }

    var count: Int { items.withLock { $0.count } }

    /// Waits until something is queued and takes all of it; nil once the calling task is cancelled
    /// or the queue is finished.
    func next() async -> [Element]? {
        var iterator = wakeups.makeAsyncIterator()
        while true {
            let taken = items.withLock { items -> [Element] in
                let taken = items
                items.removeAll(keepingCapacity: true)
                return taken
            }
            if !taken.isEmpty { return taken }
            if Task.isCancelled { return nil }
            guard await iterator.next() != nil else { return nil }
        }
    }

    func finish() { wake.finish() }
}
