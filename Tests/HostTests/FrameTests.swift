import RunnerProtocol
import Testing

@Suite struct FrameTests {
    @Test func framesSurviveArbitrarySplits() throws {
        let event = WireEvent(
            type: 2, typeName: "message.status", eventID: "evt_1", accountID: "acc_1", timeMs: 42,
            fields: [
                WireField(id: "usage.to", kind: 3, bytes: Array("psn_x".utf8), intValue: 0),
                WireField(id: "usage.segments", kind: 2, bytes: [], intValue: 2),
            ])
        let frames = [
            Requests.events(id: 7, now: 99, [event, event]), Requests.check(id: 8, now: 100, event), Frame(.ready),
        ]
        let bytes = frames.flatMap { $0.encoded() }
        for split in [1, 3, 7, 64, bytes.count] {
            var decoder = FrameDecoder()
            var decoded: [Frame] = []
            for start in stride(from: 0, to: bytes.count, by: split) {
                decoder.append(bytes[start..<min(start + split, bytes.count)])
                while let frame = try decoder.next() { decoded.append(frame) }
            }
            #expect(decoded == frames)
        }
        var reader = WireReader(frames[0].body)
        #expect(try reader.u64() == 7)
        #expect(try reader.i64() == 99)
        #expect(try reader.u32() == 2)
        #expect(try WireEvent.read(from: &reader) == event)
    }

    @Test func oversizedAndUnknownFramesAreRejected() {
        var oversized = FrameDecoder()
        oversized.append([0x7F, 0xFF, 0xFF, 0xFF, 4])
        #expect(throws: FrameError.self) { try oversized.next() }
        var unknown = FrameDecoder()
        unknown.append([0, 0, 0, 1, 200])
        #expect(throws: FrameError.unknownType(200)) { try unknown.next() }
    }
}
