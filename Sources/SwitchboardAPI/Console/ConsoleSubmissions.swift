import Foundation
import Synchronization

/// The console's forms already sent, so that each rendered form is acted on once: a double click,
/// a second tab or the back button sending it again is answered `409 Form already sent`, not done
/// twice (a second message, a second API key, a second rotation of the webhook secret that would end
/// the overlap a receiver relies on).
///
/// Each page render gives its forms a fresh id, sent beside the session's CSRF token
/// (``ConsoleRenderer``). A form whose action failed (an error page, a 4xx or 5xx answer) is
/// forgotten again, so it can be corrected or retried from the same page. Ids are kept for
/// `keep` and at most `capacity` of them, oldest first out: in memory, for this daemon.
package final class ConsoleSubmissions: Sendable {
    /// Each id sent, with when: an id older than `keep` counts as not sent.
    private let sent = Mutex<[String: ContinuousClock.Instant]>([:])
    let keep: Duration
    let capacity: Int

    package init(keep: Duration = .seconds(3600), capacity: Int = 100_000) {
        self.keep = keep
        self.capacity = capacity
    }

    /// A new form id for one rendered page: 128 random bits, hex.
    package static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    }

    /// Marks `id` sent; false when it was sent before (and not forgotten since).
    package func begin(_ id: String) -> Bool {
        let now = ContinuousClock.now
        return sent.withLock { sent in
            if let at = sent[id], now - at < keep { return false }
            if sent.count >= capacity {
                // Full: the expired go first, then the oldest if none had expired.
                sent = sent.filter { now - $0.value < keep }
                if sent.count >= capacity, let oldest = sent.min(by: { $0.value < $1.value }) {
                    sent.removeValue(forKey: oldest.key)
                }
            }
            sent[id] = now
            return true
        }
    }

    /// Forgets `id`: its action failed, so sending the same form again is no repeat.
    package func forget(_ id: String) {
        _ = sent.withLock { $0.removeValue(forKey: id) }
    }
}
