extension Double {
    /// The value rounded half away from zero to `places` decimal places, for ratios shown to people
    /// (0.95238… becomes 0.9524).
    public func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}
