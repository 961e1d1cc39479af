import Foundation
import Synchronization

/// A token bucket per account: `ratePerSecond` sends on average, bursts up to `burst`.
public final class SendRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Date
    }

    private let rate: Double
    /// The average sends per second allowed, as configured.
    public var ratePerSecond: Double { rate }
    private let burst: Double
    private let clock: any WallClock
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(ratePerSecond: Double, burst: Int, clock: any WallClock) {
        self.rate = ratePerSecond
        self.burst = Double(max(1, burst))
        self.clock = clock
    }

    /// Takes one token; returns nil when allowed, else the seconds until a token is available.
    public func acquire(_ accountID: String) -> Int? {
        let now = clock.now()
        return buckets.withLock { buckets in
            var bucket = buckets[accountID] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate)
            bucket.updated = now
            defer { buckets[accountID] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}
