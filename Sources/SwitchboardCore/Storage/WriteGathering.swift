import Synchronization

/// Gathers writes that arrive within `linger` of the first into one call of `flush` (one writer
/// request, one savepoint, mostly one commit), and resumes each caller once its batch is written.
///
/// Rationale: at an SMSC's pace (about 1,100 messages/s in the SMPP benchmark) the delivery
/// pipeline's writes arrive one at a time, so each `sent` and each receipt was a commit of its own:
/// `perf stat` counted 11.8 `pwrite64` calls to the WAL per delivered message, and the drain cost
/// 650 µs of CPU per message with no hot spot but small commits and hand-offs
/// (docs/benchmarks.md, SMPP). Waiting a few milliseconds for company costs a receipt's
/// `deliver_sm_resp` or a message's `sent` that much latency, and no HTTP answer any.
package final class WriteGathering<Item: Sendable>: Sendable {
    private struct Pending: Sendable {
        var items: [Item]
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let queue = BatchQueue<Pending>()
    /// Set once `run` ended: later writes are refused instead of waiting forever.
    private let closed = Mutex(false)

    package init() {}

    /// Thrown by `write` once `run` ended: the caller writes on its own.
    package struct Closed: Error {}

    /// Writes `items` with whatever else arrives meanwhile; returns once they are written.
    /// - Throws: what `flush` threw for the batch, or `Closed` once `run` ended.
    package func write(_ items: [Item]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = closed.withLock { closed -> Bool in
                guard !closed else { return false }
                queue.push(Pending(items: items, continuation: continuation))
                return true
            }
            if !accepted { continuation.resume(throwing: Closed()) }
        }
    }

    /// Flushes batches until `close()` was called and nothing is left (or the calling task is
    /// cancelled), then refuses later writes.
    /// - Parameters:
    ///   - linger: how long the first write of a batch waits for others.
    ///   - enough: a batch of this many items is flushed without lingering.
    ///   - flush: writes one batch's items, in the order they arrived.
    package func run(linger: Duration, enough: Int, flush: @Sendable ([Item]) async throws -> Void) async {
        while var batch = await queue.next() {
            if batch.reduce(0, { $0 + $1.items.count }) < enough {
                try? await Task.sleep(for: linger)
                batch += queue.takeAll()
            }
            do {
                try await flush(batch.flatMap(\.items))
                for pending in batch { pending.continuation.resume() }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
        let left = closed.withLock { closed -> [Pending] in
            closed = true
            return queue.takeAll()
        }
        for pending in left { pending.continuation.resume(throwing: Closed()) }
    }

    /// Ends `run` once what was written so far is flushed.
    package func close() {
        queue.finish()
    }
}
