/// One alert rule as a state machine: it fires when its value rises above the threshold while
/// there is enough evidence, resolves when the value is back at or below the threshold, and reports
/// only those two changes, so a sustained problem raises one alert instead of one per request.
struct ThresholdAlert: Sendable {
    enum Change: String, Sendable {
        case firing, resolved
    }

    let name: String
    let threshold: Double
    private(set) var isFiring = false

    init(name: String, threshold: Double) {
        self.name = name
        self.threshold = threshold
    }

    /// Feeds the current value; returns the change it caused, if any.
    mutating func evaluate(_ value: Double, hasEnoughEvidence: Bool) -> Change? {
        if !isFiring, hasEnoughEvidence, value > threshold {
            isFiring = true
            return .firing
        }
        if isFiring, value <= threshold {
            isFiring = false
            return .resolved
        }
        return nil
    }
}
