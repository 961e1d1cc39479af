/// Bodies of the request and answer frames. Every request carries an id (answers echo it) and the
/// host's clock, which the runner's `now_ms` returns so the add-on sees the host's time.
public enum Requests {
    public static func events(id: UInt64, now: Int64, _ events: [WireEvent]) -> Frame {
        var writer = WireWriter()
        writer.u64(id)
        writer.i64(now)
        writer.u32(UInt32(events.count))
        for event in events { event.write(to: &writer) }
        return Frame(.events, writer.bytes)
    }

    /// The validator's lifecycle request: destroy and create the instance `count` times.
    public static func recreate(id: UInt64, now: Int64, count: UInt32) -> Frame {
        var writer = WireWriter()
        writer.u64(id)
        writer.i64(now)
        writer.u32(count)
        return Frame(.recreate, writer.bytes)
    }

    /// The validator's concurrency request: `events` delivered on `threads` threads at once.
    public static func concurrentEvents(id: UInt64, now: Int64, threads: UInt32, _ events: [WireEvent]) -> Frame {
        var writer = WireWriter()
        writer.u64(id)
        writer.i64(now)
        writer.u32(threads)
        writer.u32(UInt32(events.count))
        for event in events { event.write(to: &writer) }
        return Frame(.concurrentEvents, writer.bytes)
    }

    public static func check(id: UInt64, now: Int64, _ event: WireEvent) -> Frame {
        var writer = WireWriter()
        writer.u64(id)
        writer.i64(now)
        event.write(to: &writer)
        return Frame(.check, writer.bytes)
    }

    public struct Subject: Sendable, Equatable {
        public var kind: UInt32
        public var accountID: String
        public var value: String?
        public var pseudonym: String?

        public init(kind: UInt32, accountID: String, value: String?, pseudonym: String?) {
            self.kind = kind
            self.accountID = accountID
            self.value = value
            self.pseudonym = pseudonym
        }
    }

    public static func erase(id: UInt64, now: Int64, _ subject: Subject) -> Frame {
        var writer = WireWriter()
        writer.u64(id)
        writer.i64(now)
        writer.u32(subject.kind)
        writer.string(subject.accountID)
        writer.u8(subject.value == nil ? 0 : 1)
        writer.string(subject.value ?? "")
        writer.u8(subject.pseudonym == nil ? 0 : 1)
        writer.string(subject.pseudonym ?? "")
        return Frame(.erase, writer.bytes)
    }

    public static func readSubject(_ reader: inout WireReader) throws -> Subject {
        let kind = try reader.u32()
        let account = try reader.string()
        let hasValue = try reader.u8() == 1
        let value = try reader.string()
        let hasPseudonym = try reader.u8() == 1
        let pseudonym = try reader.string()
        return Subject(
            kind: kind, accountID: account, value: hasValue ? value : nil, pseudonym: hasPseudonym ? pseudonym : nil)
    }

    public static func codes(id: UInt64, _ codes: [Int32], type: FrameType) -> Frame {
        var writer = WireWriter()
        writer.u64(id)
        writer.u32(UInt32(codes.count))
        for code in codes { writer.u32(UInt32(bitPattern: code)) }
        return Frame(type, writer.bytes)
    }

    public static func readCodes(_ body: [UInt8]) throws -> (id: UInt64, codes: [Int32]) {
        var reader = WireReader(body)
        let id = try reader.u64()
        let count = Int(try reader.u32())
        guard count <= 100_000 else { throw FrameError.truncated }
        var codes: [Int32] = []
        for _ in 0..<count { codes.append(Int32(bitPattern: try reader.u32())) }
        return (id, codes)
    }

    public struct Verdict: Sendable, Equatable {
        public var code: Int32
        public var action: UInt32
        public var reasonCode: String
        public var reason: String

        public init(code: Int32, action: UInt32, reasonCode: String, reason: String) {
            self.code = code
            self.action = action
            self.reasonCode = reasonCode
            self.reason = reason
        }
    }

    public static func verdict(id: UInt64, _ verdict: Verdict) -> Frame {
        var writer = WireWriter()
        writer.u64(id)
        writer.u32(UInt32(bitPattern: verdict.code))
        writer.u32(verdict.action)
        writer.string(verdict.reasonCode)
        writer.string(verdict.reason)
        return Frame(.verdict, writer.bytes)
    }

    public static func readVerdict(_ body: [UInt8]) throws -> (id: UInt64, verdict: Verdict) {
        var reader = WireReader(body)
        let id = try reader.u64()
        let verdict = Verdict(
            code: Int32(bitPattern: try reader.u32()), action: try reader.u32(), reasonCode: try reader.string(),
            reason: try reader.string())
        return (id, verdict)
    }

    public static func log(level: UInt32, _ text: String) -> Frame {
        var writer = WireWriter()
        writer.u32(level)
        writer.string(text)
        return Frame(.log, writer.bytes)
    }

    public struct Emitted: Sendable, Equatable {
        public var kind: String
        public var accountID: String
        public var key: String?
        public var json: String

        public init(kind: String, accountID: String, key: String?, json: String) {
            self.kind = kind
            self.accountID = accountID
            self.key = key
            self.json = json
        }
    }

    public static func emit(_ record: Emitted) -> Frame {
        var writer = WireWriter()
        writer.string(record.kind)
        writer.string(record.accountID)
        writer.u8(record.key == nil ? 0 : 1)
        writer.string(record.key ?? "")
        writer.string(record.json)
        return Frame(.emit, writer.bytes)
    }

    public static func readEmit(_ body: [UInt8]) throws -> Emitted {
        var reader = WireReader(body)
        let kind = try reader.string()
        let account = try reader.string()
        let hasKey = try reader.u8() == 1
        let key = try reader.string()
        return Emitted(kind: kind, accountID: account, key: hasKey ? key : nil, json: try reader.string())
    }
}
