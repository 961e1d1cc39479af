/// A JSON number for `value`, or `null` when it is NaN or infinite (which JSON cannot express and
/// the host would refuse as invalid JSON). Integral values print without a fraction.
public func jsonNumber(_ value: Double) -> String {
    guard value.isFinite else { return "null" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}
