import SwitchboardCore
import Testing

/// One log line per interval, with the count of the ones held back.
@Suite struct LogThrottleTests {
    @Test func oneLinePerIntervalCarriesTheCountHeldBack() {
        let throttle = LogThrottle(interval: .seconds(10))
        let start = ContinuousClock.now
        #expect(throttle.admit(now: start) == 0)
        #expect(throttle.admit(now: start + .seconds(1)) == nil)
        #expect(throttle.admit(now: start + .seconds(9)) == nil)
        #expect(throttle.admit(now: start + .seconds(10)) == 2)
        #expect(throttle.admit(now: start + .seconds(11)) == nil)
        #expect(throttle.admit(now: start + .seconds(30)) == 1)
    }
}
