import Dispatch
import Foundation
import SwitchboardAddons
import Synchronization
import Testing

/// The one timer that gives up on an in-process add-on's unanswered pre-send checks: each check
/// times out at its own deadline, answered checks never do, and none is forgotten however many
/// were answered before it. Every check has the same budget, as one add-on's checks do; budgets
/// of a second leave the test's own thread time to answer a check before its deadline.
@Suite struct CheckDeadlinesTests {
    static let budget = DispatchTimeInterval.seconds(1)

    /// Waits up to 5 s for `condition`.
    static func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<250 where !condition() { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test func onlyTheUnansweredCheckTimesOutAndNotBeforeItsDeadline() async throws {
        let deadlines = CheckDeadlines()
        let expired = Mutex<[String: DispatchTime]>([:])
        func watch(_ name: String) -> (token: UInt64, deadline: DispatchTime) {
            let deadline = DispatchTime.now() + Self.budget
            return (deadlines.watch(until: deadline) { expired.withLock { $0[name] = .now() } }, deadline)
        }
        deadlines.answered(watch("answered at once").token)
        let hung = watch("never answered")
        try await Self.eventually { expired.withLock { !$0.isEmpty } }
        #expect(Set(expired.withLock { $0.keys }) == ["never answered"])
        #expect(try #require(expired.withLock { $0["never answered"] }) >= hung.deadline)
        // After a time-out the timer is set again for the next check, and an answered one still never expires.
        deadlines.answered(watch("answered after the time-out").token)
        let second = watch("the second never answered")
        try await Self.eventually { expired.withLock { $0.count == 2 } }
        #expect(Set(expired.withLock { $0.keys }) == ["never answered", "the second never answered"])
        #expect(try #require(expired.withLock { $0["the second never answered"] }) >= second.deadline)
        #expect(deadlines.count == 0)
    }

    @Test func aHungCheckBehindThousandsOfAnsweredOnesStillTimesOut() async throws {
        let deadlines = CheckDeadlines()
        let expired = Mutex(0)
        for _ in 0..<5_000 {
            let token = deadlines.watch(until: .now() + Self.budget) { expired.withLock { $0 += 1 } }
            deadlines.answered(token)
        }
        _ = deadlines.watch(until: .now() + Self.budget) { expired.withLock { $0 += 1 } }
        try await Self.eventually { expired.withLock { $0 } > 0 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(expired.withLock { $0 } == 1)
        #expect(deadlines.count == 0)
    }
}
