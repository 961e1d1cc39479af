import Synchronization

/// Runs one piece of work per key at a time: a caller that finds the same key in flight waits for
/// that work's result instead of repeating it.
///
/// Why: each credential check counts against the client's throttle before it runs. Forty requests
/// with the same new key arriving together would each take a slot and the tenth would refuse the
/// rest, though the key is right; coalesced, they cost one slot and one database read.
final class SingleFlight<Value: Sendable>: Sendable {
    private let inFlight = Mutex<[String: [CheckedContinuation<Value, any Error>]]>([:])

    /// The value of `work` for `key`, run here or shared with the caller already running it. A
    /// follower whose leader was cancelled tries again.
    func run(key: String, _ work: () async throws -> Value) async throws -> Value {
        while true {
            let leads = inFlight.withLock { inFlight in
                guard inFlight[key] == nil else { return false }
                inFlight[key] = []
                return true
            }
            if leads {
                let result: Result<Value, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                let followers = inFlight.withLock { $0.removeValue(forKey: key) ?? [] }
                for follower in followers { follower.resume(with: result) }
                return try result.get()
            }
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    let joined = inFlight.withLock { inFlight in
                        guard inFlight[key] != nil else { return false }
                        inFlight[key]!.append(continuation)
                        return true
                    }
                    // The leader finished between the two looks: go round and lead.
                    if !joined { continuation.resume(throwing: Retry()) }
                }
            } catch is Retry {
                continue
            } catch is CancellationError where !Task.isCancelled {
                continue
            }
        }
    }

    private struct Retry: Error {}
}
