import RunnerProtocol

/// What became of one request to a runner.
enum RunnerReply: Sendable {
    case answered(Frame)
    /// Never written: the add-on was unavailable (backing off, quarantined, stopped), or writing
    /// failed because the runner was going.
    case notSent
    /// Written, but the runner exited before it answered.
    case lost
    /// Written, but not answered within its budget.
    case timedOut
}

extension RunnerReply {
    /// Whether the request reached the runner (an answer, or written and then unanswered).
    var wasWritten: Bool {
        if case .notSent = self { return false }
        return true
    }
}
