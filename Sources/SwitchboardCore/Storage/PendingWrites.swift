import Synchronization

/// Rows waiting for the writer, handed over as one write request: many small writes made while the
/// writer is busy (activity log rows, pre-send shares) cost one savepoint and one queue entry.
///
/// `add` returns true for the first row since the last `take`; that caller queues a write whose
/// body `take`s everything gathered by the time it runs.
package final class PendingWrites<Element: Sendable>: Sendable {
    private let elements = Mutex<[Element]>([])

    package init() {}

    func add(_ element: Element) -> Bool {
        elements.withLock { elements in
            elements.append(element)
            return elements.count == 1
        }
    }

    package func add(contentsOf more: [Element]) -> Bool {
        elements.withLock { elements in
            let wasEmpty = elements.isEmpty
            elements += more
            return wasEmpty && !more.isEmpty
        }
    }

    package func take() -> [Element] {
        elements.withLock { elements in
            defer { elements.removeAll(keepingCapacity: true) }
            return elements
        }
    }
}
