/// How far apart two words are, for "did you mean" answers to a mistyped command, variable or key.
package enum EditDistance {
    /// The Levenshtein distance between `a` and `b`: edits (insert, delete, replace one character)
    /// from one to the other.
    package static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
