// libFuzzer entry for the runner's wire protocol (Sources/RunnerProtocol): arbitrary bytes go through
// `FrameDecoder` whole and byte by byte; every frame and every message decoded from a frame body must
// re-encode to bytes that decode to the same value. Built by `scripts/fuzz build` together with the
// RunnerProtocol sources, in one module.

/// The message a frame body holds, read as the daemon or the runner reads it.
enum Message: Equatable {
    case initialize(WireInit)
    case reason(String)
    case events(id: UInt64, now: Int64, [WireEvent])
    case check(id: UInt64, now: Int64, WireEvent)
    case erase(id: UInt64, now: Int64, Requests.Subject)
    case codes(id: UInt64, [Int32], FrameType)
    case verdict(id: UInt64, Requests.Verdict)
    case log(level: UInt32, String)
    case emit(Requests.Emitted)
    case recreate(id: UInt64, now: Int64, count: UInt32)
    case concurrentEvents(id: UInt64, now: Int64, threads: UInt32, [WireEvent])

    /// The message in `frame`, or nil when its body is not one (the readers threw).
    static func decode(_ frame: Frame) -> Message? {
        do {
            switch frame.type {
            case .initialize:
                return .initialize(try WireInit.decode(frame.body))
            case .ready, .failed:
                return .reason(String(decoding: frame.body, as: UTF8.self))
            case .events:
                var reader = WireReader(frame.body)
                let id = try reader.u64()
                let now = try reader.i64()
                let count = Int(try reader.u32())
                var events: [WireEvent] = []
                for _ in 0..<count { events.append(try WireEvent.read(from: &reader)) }
                return .events(id: id, now: now, events)
            case .check:
                var reader = WireReader(frame.body)
                return .check(id: try reader.u64(), now: try reader.i64(), try WireEvent.read(from: &reader))
            case .erase:
                var reader = WireReader(frame.body)
                return .erase(id: try reader.u64(), now: try reader.i64(), try Requests.readSubject(&reader))
            case .eventResults, .eraseResult:
                let (id, codes) = try Requests.readCodes(frame.body)
                return .codes(id: id, codes, frame.type)
            case .verdict:
                let (id, verdict) = try Requests.readVerdict(frame.body)
                return .verdict(id: id, verdict)
            case .log:
                var reader = WireReader(frame.body)
                return .log(level: try reader.u32(), try reader.string())
            case .emit:
                return .emit(try Requests.readEmit(frame.body))
            case .recreate:
                var reader = WireReader(frame.body)
                return .recreate(id: try reader.u64(), now: try reader.i64(), count: try reader.u32())
            case .concurrentEvents:
                var reader = WireReader(frame.body)
                let id = try reader.u64()
                let now = try reader.i64()
                let threads = try reader.u32()
                let count = Int(try reader.u32())
                var events: [WireEvent] = []
                for _ in 0..<count { events.append(try WireEvent.read(from: &reader)) }
                return .concurrentEvents(id: id, now: now, threads: threads, events)
            }
        } catch {
            return nil
        }
    }

    /// The frame the product's encoders write for this message.
    func encoded(as type: FrameType) -> Frame {
        switch self {
        case .initialize(let setup): Frame(.initialize, setup.encoded())
        case .reason(let text): Frame(type, Array(text.utf8))
        case .events(let id, let now, let events): Requests.events(id: id, now: now, events)
        case .check(let id, let now, let event): Requests.check(id: id, now: now, event)
        case .erase(let id, let now, let subject): Requests.erase(id: id, now: now, subject)
        case .codes(let id, let codes, let type): Requests.codes(id: id, codes, type: type)
        case .verdict(let id, let verdict): Requests.verdict(id: id, verdict)
        case .log(let level, let text): Requests.log(level: level, text)
        case .emit(let record): Requests.emit(record)
        case .recreate(let id, let now, let count): Requests.recreate(id: id, now: now, count: count)
        case .concurrentEvents(let id, let now, let threads, let events):
            Requests.concurrentEvents(id: id, now: now, threads: threads, events)
        }
    }
}

/// Frames until the first error or until the bytes run out; the error, if any, ends the list.
func frames(feeding chunks: some Sequence<ArraySlice<UInt8>>) -> (frames: [Frame], error: FrameError?) {
    var decoder = FrameDecoder()
    var out: [Frame] = []
    for chunk in chunks {
        decoder.append(chunk)
        do {
            while let frame = try decoder.next() { out.append(frame) }
        } catch let error as FrameError {
            return (out, error)
        } catch {
            fatalError("FrameDecoder threw \(error), which is not a FrameError")
        }
    }
    return (out, nil)
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let whole = frames(feeding: [bytes[...]])
    // A peer's writes arrive split anywhere: byte by byte gives the same frames and the same error.
    let split = frames(feeding: bytes.indices.lazy.map { bytes[$0...$0] })
    check(whole.frames == split.frames, "frames differ when the bytes arrive one at a time")
    check(whole.error == split.error, "errors differ when the bytes arrive one at a time")
    for frame in whole.frames {
        check(frame.body.count <= Frame.maximumBody, "a frame over the maximum body was accepted")
        let again = frames(feeding: [frame.encoded()[...]])
        check(again.frames == [frame] && again.error == nil, "a frame does not survive its own encoding")
        guard let message = Message.decode(frame) else { continue }
        let reencoded = message.encoded(as: frame.type)
        check(reencoded.type == frame.type, "\(frame.type) re-encodes as \(reencoded.type)")
        let back = frames(feeding: [reencoded.encoded()[...]])
        check(back.frames.count == 1 && back.error == nil, "a re-encoded \(frame.type) frame does not decode")
        check(
            Message.decode(back.frames[0]) == message,
            "a \(frame.type) message changes when re-encoded: \(message)")
    }
    return 0
}
