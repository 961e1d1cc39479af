import Dispatch
import Foundation
import SwitchboardAddons
import Synchronization
import Testing

/// The one timer that gives up on an in-process add-on's unanswered pre-send checks: each check
/// times out at its own deadline, answered checks never do, and none is forgotten however many
/// were answered before it.
@Suite struct CheckDeadlinesTests {
    @Test func onlyTheUnansweredCheckTimesOutAndNotBeforeItsDeadline() async throws {
        let deadlines = CheckDeadlines()
        let expired = Mutex<[String: DispatchTime]>([:])
        let started = DispatchTime.now()
        func watch(_ name: String, after ms: Int) -> UInt64 {
            deadlines.watch(until: started + .milliseconds(ms)) { expired.withLock { $0[name] = .now() } }
        }
        let first = watch("answered at once", after: 50)
        deadlines.answered(first)
        _ = watch("never answered", after: 120)
        // Answered once the one before it has timed out: long before its own deadline.
        let later = watch("answered later", after: 10_000)
        for _ in 0..<250 where expired.withLock({ $0.isEmpty }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        deadlines.answered(later)
        let fired = expired.withLock { $0 }
        #expect(Set(fired.keys) == ["never answered"])
        let at = try #require(fired["never answered"])
        #expect(at >= started + .milliseconds(120))
        #expect(deadlines.count == 0)
    }

    @Test func aHungCheckBehindThousandsOfAnsweredOnesStillTimesOut() async throws {
        let deadlines = CheckDeadlines()
        let expired = Mutex(0)
        for _ in 0..<5_000 {
            let token = deadlines.watch(until: .now() + .milliseconds(30)) { expired.withLock { $0 += 1 } }
            deadlines.answered(token)
        }
        _ = deadlines.watch(until: .now() + .milliseconds(30)) { expired.withLock { $0 += 1 } }
        for _ in 0..<100 {
            if expired.withLock({ $0 }) > 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(expired.withLock { $0 } == 1)
        #expect(deadlines.count == 0)
    }
}
