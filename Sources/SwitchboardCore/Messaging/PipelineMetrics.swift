/// What the delivery pipeline counts for operators (Prometheus series on `/metrics`, see
/// `HostMetrics`). Implementations must not block: they are called on the pipeline's task.
public protocol PipelineMetrics: Sendable {
    /// The carrier answered a submission.
    func submitted(_ result: CarrierSubmitResult)
    /// A message whose submission began before a restart was settled so.
    func reconciled(_ answer: ReconciliationAnswer)
    /// A write of `work` failed because the storage refused it, and is tried again.
    func writeRetried(_ work: PipelineWork)
    /// Messages claimed for submission and not yet answered by the carrier changed by `change`.
    func inFlight(_ change: Int)
}

/// What the carrier said of a message whose submission began before a restart.
public enum ReconciliationAnswer: String, Sendable, CaseIterable {
    case accepted
    case notReceived = "not_received"
    case unknown
}

/// The pipeline's writes, by what they record.
public enum PipelineWork: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `submit_started_at`, before the carrier is called.
    case submitIntent = "submit_intent"
    /// `sent` or `failed` after the carrier's answer.
    case carrierResults = "carrier_results"
    /// Final statuses from delivery reports.
    case deliveryReports = "delivery_reports"

    public var description: String {
        switch self {
        case .submitIntent: "the start of a submission"
        case .carrierResults: "the carrier's answers"
        case .deliveryReports: "delivery reports"
        }
    }
}
