/// The last `capacity` API requests of one account, kept so that every statistic is cheap to read:
/// status classes are counted as requests enter and leave, and latencies are kept sorted, so a
/// request costs one binary search and shift and a percentile is a single index.
struct RequestWindow: Sendable {
    private struct Request {
        let statusCode: Int64
        let latencyMs: Int64
    }

    let capacity: Int
    private var ring: [Request] = []
    /// Where the oldest request sits once the ring is full.
    private var oldest = 0
    private var sortedLatencies: [Int64] = []
    private var serverErrors = 0
    private var clientErrors = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a request window holds at least one request")
        self.capacity = capacity
    }

    var count: Int { ring.count }

    /// Share of requests answered with a server error (5xx); 0 when empty.
    var errorRate: Double { share(serverErrors) }

    /// Share of requests answered with a client error (4xx); 0 when empty.
    var clientErrorRate: Double { share(clientErrors) }

    mutating func add(statusCode: Int64, latencyMs: Int64) {
        let request = Request(statusCode: statusCode, latencyMs: max(0, latencyMs))
        if ring.count < capacity {
            ring.append(request)
        } else {
            tally(ring[oldest], by: -1)
            ring[oldest] = request
            oldest = (oldest + 1) % capacity
        }
        tally(request, by: 1)
    }

    /// The nearest-rank percentile of latency: the smallest latency in the window such that at least
    /// `percent`% of the window is at or below it. Nil when the window is empty.
    func latencyPercentile(_ percent: Int) -> Int64? {
        guard !sortedLatencies.isEmpty else { return nil }
        let rank = (percent * sortedLatencies.count + 99) / 100  // ceil(percent / 100 * n) in integers.
        return sortedLatencies[min(max(rank, 1), sortedLatencies.count) - 1]
    }

    private func share(_ part: Int) -> Double {
        ring.isEmpty ? 0 : Double(part) / Double(ring.count)
    }

    private mutating func tally(_ request: Request, by delta: Int) {
        if request.statusCode >= 500 {
            serverErrors += delta
        } else if request.statusCode >= 400 {
            clientErrors += delta
        }
        let index = firstIndex(notBelow: request.latencyMs)
        if delta > 0 {
            sortedLatencies.insert(request.latencyMs, at: index)
        } else {
            sortedLatencies.remove(at: index)
        }
    }

    /// Binary search in `sortedLatencies` for the first element >= `latency`.
    private func firstIndex(notBelow latency: Int64) -> Int {
        var low = 0
        var high = sortedLatencies.count
        while low < high {
            let middle = (low + high) / 2
            if sortedLatencies[middle] < latency { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
