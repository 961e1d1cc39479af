/// The frames the daemon and an isolated add-on runner exchange over the runner's fd 3: a 4-byte
/// big-endian length, then a 1-byte type, then the body. Kept free of I/O so both sides and the tests
/// share one encoder and one decoder.
public enum FrameType: UInt8, Sendable {
    /// host → runner: load the add-on (library, id, version, state dir, config).
    case initialize = 1
    /// runner → host: the add-on is instantiated.
    case ready = 2
    /// runner → host: the add-on could not be loaded; body is the reason.
    case failed = 3
    /// host → runner: a batch of events, delivered in order, stopping at the first SB_RETRY.
    case events = 4
    /// runner → host: the codes of the events that were delivered.
    case eventResults = 5
    /// host → runner: one pre-send check.
    case check = 6
    /// runner → host: its verdict.
    case verdict = 7
    /// host → runner: one erasure.
    case erase = 8
    /// runner → host: the erasure's code.
    case eraseResult = 9
    /// runner → host: a log line from the add-on.
    case log = 10
    /// runner → host: a record the add-on emitted.
    case emit = 11
    /// host → runner: destroy the instance and create a new one, N times (the validator's lifecycle
    /// rule; the daemon never sends it). Answered with `eventResults`: `[SB_OK]`.
    case recreate = 12
    /// host → runner: a batch of events delivered on several threads at once, each thread the
    /// whole batch (the validator's rule for add-ons flagged `SB_ADDON_THREAD_SAFE`; the daemon
    /// never sends it). Answered with `eventResults`: every thread's codes, thread after thread.
    case concurrentEvents = 13
}

public struct Frame: Sendable, Equatable {
    public var type: FrameType
    public var body: [UInt8]

    public init(_ type: FrameType, _ body: [UInt8] = []) {
        self.type = type
        self.body = body
    }

    /// Frames larger than this are a protocol violation: the peer is killed, not believed.
    public static let maximumBody = 16 << 20

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 5)
        let length = UInt32(body.count + 1)
        out.append(contentsOf: [
            UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF),
        ])
        out.append(type.rawValue)
        out.append(contentsOf: body)
        return out
    }
}

public enum FrameError: Error, Equatable, Sendable {
    case oversized(Int)
    case unknownType(UInt8)
    case truncated
}

/// Accumulates bytes and yields whole frames; a pure state machine.
public struct FrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, nil when more bytes are needed; throws on a frame no honest peer sends.
    public mutating func next() throws -> Frame? {
        guard buffer.count - start >= 4 else { return nil }
        let length =
            Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8
            | Int(buffer[start + 3])
        guard length >= 1, length - 1 <= Frame.maximumBody else { throw FrameError.oversized(length) }
        guard buffer.count - start >= 4 + length else { return nil }
        guard let type = FrameType(rawValue: buffer[start + 4]) else { throw FrameError.unknownType(buffer[start + 4]) }
        let body = Array(buffer[(start + 5)..<(start + 4 + length)])
        start += 4 + length
        if start > 65536 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return Frame(type, body)
    }
}
