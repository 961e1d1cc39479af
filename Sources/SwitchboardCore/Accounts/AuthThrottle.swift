import Foundation
import Synchronization

/// Counts failed authentications per client address and refuses the address for a while once it has
/// failed too often, so a password or key cannot be guessed at API speed.
public final class AuthThrottle: Sendable {
    private struct Window {
        var start: Date
        var failures: Int
    }

    private let maxFailures: Int
    private let window: TimeInterval
    private let clock: any WallClock
    private let windows = Mutex<[String: Window]>([:])

    public init(maxFailures: Int, windowSeconds: Int, clock: any WallClock) {
        self.maxFailures = maxFailures
        self.window = TimeInterval(windowSeconds)
        self.clock = clock
    }

    /// Seconds the address must wait before trying again, or nil when it may try now.
    public func retryAfter(address: String) -> Int? {
        let now = clock.now()
        return windows.withLock { windows in
            guard let entry = windows[address] else { return nil }
            let elapsed = now.timeIntervalSince(entry.start)
            if elapsed >= window {
                windows[address] = nil
                return nil
            }
            return entry.failures >= maxFailures ? max(1, Int((window - elapsed).rounded(.up))) : nil
        }
    }

    public func recordFailure(address: String) {
        let now = clock.now()
        windows.withLock { windows in
            if var entry = windows[address], now.timeIntervalSince(entry.start) < window {
                entry.failures += 1
                windows[address] = entry
            } else {
                windows[address] = Window(start: now, failures: 1)
            }
            // Bound memory under a spray of addresses: drop expired windows once the table grows.
            if windows.count > 10_000 {
                windows = windows.filter { now.timeIntervalSince($0.value.start) < window }
            }
        }
    }
}
