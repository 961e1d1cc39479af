import SMPP
import Synchronization

/// Puts the parts of a long inbound message back together (3GPP TS 23.040 §9.2.3.24.1: parts share
/// a reference and a total, and carry their sequence number). Parts of one message come from one
/// source to one destination; a message whose parts do not all arrive within `keep` is dropped.
final class Reassembly: Sendable {
    private struct Key: Hashable {
        var source: String
        var destination: String
        var reference: UInt16
        var total: UInt8
    }

    private struct Partial {
        var parts: [UInt8: String] = [:]
        var started: ContinuousClock.Instant
    }

    private let partials = Mutex<[Key: Partial]>([:])
    private let keep: Duration

    init(keep: Duration = .seconds(600)) {
        self.keep = keep
    }

    /// Adds one part; returns the whole text once every part is in, else nil.
    func add(_ text: String, part: TextCoding.Concatenation, source: String, destination: String) -> String? {
        guard part.total > 1, part.sequence >= 1, part.sequence <= part.total else { return text }
        let key = Key(source: source, destination: destination, reference: part.reference, total: part.total)
        let now = ContinuousClock.now
        return partials.withLock { partials -> String? in
            partials = partials.filter { now - $0.value.started < keep }
            var partial = partials[key] ?? Partial(started: now)
            partial.parts[part.sequence] = text
            guard partial.parts.count == Int(part.total) else {
                partials[key] = partial
                return nil
            }
            partials[key] = nil
            return (1...part.total).compactMap { partial.parts[$0] }.joined()
        }
    }
}
