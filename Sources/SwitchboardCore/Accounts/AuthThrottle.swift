import Foundation
import Synchronization

/// Limits how many attempts a client address, or an account being signed in to, may have checked
/// within a window, so a password or key cannot be guessed at API speed.
///
/// **An attempt is counted before it is checked.** ``reserve(_:)`` takes one slot on every key at
/// once, under one lock, and refuses when any key has none left; the caller then does the expensive
/// check and gives the slot back with ``giveBack(_:)`` only when it succeeded. So 200 parallel
/// guesses cannot all pass a limit of 10 while their hashes run: at most 10 hold a slot, the rest are
/// refused unchecked. (Checking first and counting after the hash lets every request that arrives
/// during the hashing through.) NIST SP 800-63B section 5.2.2 asks a verifier to limit failed
/// attempts per account; the address key adds the same limit per client.
///
/// A key's window starts at its first counted attempt and lasts `windowSeconds`; once `maxAttempts`
/// are counted in it, the key is refused, correct credentials included, until the window ends.
public final class AuthThrottle: Sendable {
    /// What an attempt is counted against.
    public struct Key: Hashable, Sendable {
        fileprivate enum Scope: Hashable { case address, account, signUp }
        fileprivate let scope: Scope
        fileprivate let value: String

        /// The client address (see `ClientAddressResolver`: an IPv6 client counts by its /64).
        public static func address(_ address: String) -> Key { Key(scope: .address, value: address) }
        /// The account being signed in to, by the identifier tried (an email, lowercased).
        public static func account(_ identifier: String) -> Key {
            Key(scope: .account, value: EmailAddress.key(identifier))
        }
        /// Sign-ups from a client address.
        public static func signUps(from address: String) -> Key { Key(scope: .signUp, value: address) }
    }

    /// One counted attempt on each of its keys, to give back when the attempt succeeded.
    public struct Reservation: Sendable {
        fileprivate let slots: [(key: Key, windowStart: Date)]
    }

    /// Whether an attempt may go ahead.
    public enum Admission: Sendable {
        /// Counted; do the check, then give the reservation back if it succeeded.
        case admitted(Reservation)
        /// Not counted and not to be checked: a key is spent. Seconds until its window ends (at least 1).
        case refused(retryAfter: Int)
    }

    private struct Window {
        var start: Date
        var attempts: Int
    }

    private struct State {
        var windows: [Key: Window] = [:]
        /// Size at which expired windows are next swept; doubles with the live entries so a spray of
        /// addresses costs amortised constant time per attempt.
        var sweepAt = 10_000
    }

    private let maxAttempts: Int
    private let window: TimeInterval
    private let clock: any WallClock
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxAttempts: attempts counted per key and window before the key is refused (at least 1).
    ///   - windowSeconds: length of a key's window, from its first counted attempt (at least 1).
    public init(maxAttempts: Int, windowSeconds: Int, clock: any WallClock) {
        precondition(maxAttempts >= 1 && windowSeconds >= 1, "AuthThrottle needs a limit and a window of at least 1")
        self.maxAttempts = maxAttempts
        self.window = TimeInterval(windowSeconds)
        self.clock = clock
    }

    /// Seconds until every key may be tried again, or nil when none is spent now. Counts nothing:
    /// for refusing early (before reading a body), not for admitting an attempt.
    public func retryAfter(_ keys: [Key]) -> Int? {
        let now = clock.now()
        return state.withLock { state in wait(for: keys, in: &state, now: now) }
    }

    /// Counts one attempt against every key, or none when any key is spent (all or nothing).
    public func reserve(_ keys: [Key]) -> Admission {
        let now = clock.now()
        return state.withLock { state in
            if let wait = wait(for: keys, in: &state, now: now) { return .refused(retryAfter: wait) }
            return .admitted(Reservation(slots: keys.map { (key: $0, windowStart: count($0, in: &state, now: now)) }))
        }
    }

    /// Uncounts a reservation whose attempt succeeded (or was never checked). A slot whose window
    /// has ended since is left alone.
    public func giveBack(_ reservation: Reservation) {
        state.withLock { state in
            for slot in reservation.slots {
                guard var entry = state.windows[slot.key], entry.start == slot.windowStart, entry.attempts > 0
                else { continue }
                entry.attempts -= 1
                state.windows[slot.key] = entry
            }
        }
    }

    /// Checks a cheap, synchronous credential under the lock: nil when a key is spent (nothing is
    /// checked), otherwise the check's result, a failure counted against every key. For checks that
    /// take microseconds (a constant-time comparison); anything slower uses ``reserve(_:)``.
    public func attempt(_ keys: [Key], check: () -> Bool) -> Bool? {
        let now = clock.now()
        return state.withLock { state in
            if wait(for: keys, in: &state, now: now) != nil { return nil }
            let passed = check()
            if !passed { for key in keys { _ = count(key, in: &state, now: now) } }
            return passed
        }
    }

    private func wait(for keys: [Key], in state: inout State, now: Date) -> Int? {
        var longest: Int?
        for key in keys {
            guard let entry = state.windows[key] else { continue }
            let elapsed = now.timeIntervalSince(entry.start)
            if elapsed >= window || elapsed < 0 {
                state.windows[key] = nil
                continue
            }
            if entry.attempts >= maxAttempts {
                longest = max(longest ?? 1, max(1, Int((window - elapsed).rounded(.up))))
            }
        }
        return longest
    }

    /// Counts one attempt on `key`; returns the start of the window it was counted in.
    private func count(_ key: Key, in state: inout State, now: Date) -> Date {
        if var entry = state.windows[key], now.timeIntervalSince(entry.start) < window {
            entry.attempts += 1
            state.windows[key] = entry
            return entry.start
        }
        state.windows[key] = Window(start: now, attempts: 1)
        if state.windows.count >= state.sweepAt {
            state.windows = state.windows.filter { now.timeIntervalSince($0.value.start) < window }
            state.sweepAt = max(10_000, state.windows.count * 2)
        }
        return now
    }
}
