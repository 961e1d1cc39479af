/// Typed access to the operator's settings. A setting that does not parse, or falls outside the
/// accepted range, is logged as a warning and replaced by the default: a typo in the host
/// configuration should degrade one setting, not stop the add-on.
extension HostHandle {
    public func config(_ key: String, default fallback: Int, in range: ClosedRange<Int> = .min ... .max) -> Int {
        parsed(key, fallback, range) { Int($0) }
    }

    public func config(
        _ key: String, default fallback: Double, in range: ClosedRange<Double> = -.infinity ... .infinity
    ) -> Double {
        parsed(key, fallback, range) { text in Double(text).flatMap { $0.isFinite ? $0 : nil } }
    }

    private func parsed<Value: Comparable>(
        _ key: String, _ fallback: Value, _ range: ClosedRange<Value>, _ parse: (String) -> Value?
    ) -> Value {
        guard let text = config(key) else { return fallback }
        if let value = parse(text), range.contains(value) { return value }
        log(.warning, "setting \(key)=\(jsonString(text)) is not a number in \(range); using \(fallback)")
        return fallback
    }
}
