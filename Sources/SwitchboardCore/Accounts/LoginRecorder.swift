import Foundation
import Synchronization

/// Remembers when each (account, key, address) sign-in was last written, to skip redundant writes.
final class LoginRecorder: Sendable {
    private let lastWritten = Mutex<[String: Date]>([:])
    private let interval: TimeInterval = 60

    func shouldRecord(key: String, at now: Date) -> Bool {
        lastWritten.withLock { table in
            if let last = table[key], now.timeIntervalSince(last) < interval, now >= last { return false }
            if table.count > 50_000 { table.removeAll(keepingCapacity: true) }
            table[key] = now
            return true
        }
    }
}
