import SMPP
import SwitchboardSMPP
import Testing

/// The SMPP codec's rules with known vectors; the same code is exercised against real peers in
/// `SMPPCarrierTests` and `SMPPServerTests`.
@Suite struct SMPPCodecTests {
    /// 3GPP TS 23.038 §6.1.2.1.1's example: "hellohello" packs to E8 32 9B FD 46 97 D9 EC 37.
    @Test func gsm7PacksAsTheSpecificationShows() throws {
        let septets = try #require(GSM7.encode("hellohello"))
        #expect(GSM7.pack(septets) == [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37])
        #expect(
            GSM7.decode(GSM7.unpack([0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37], count: 10)) == "hellohello")
        #expect(GSM7.encode("€[") == [0x1B, 0x65, 0x1B, 0x3C])
        #expect(GSM7.encode("☃") == nil)
    }

    /// A long message never splits an escape pair or a surrogate pair across parts.
    @Test func longTextSplitsOnCharacterBoundaries() {
        let coding = TextCoding()
        let gsm = String(repeating: "a", count: 152) + "€" + String(repeating: "b", count: 10)
        let (gsmCoding, gsmParts) = coding.encode(gsm, reference: 7)
        #expect(gsmCoding == 0)
        #expect(gsmParts.count == 2)
        #expect(gsmParts[0].shortMessage.count == 6 + 152)  // the escape pair went whole to part 2
        let emoji = String(repeating: "ж", count: 66) + "😀" + String(repeating: "ж", count: 5)
        let (ucsCoding, ucsParts) = coding.encode(emoji, reference: 7)
        #expect(ucsCoding == 8)
        #expect(ucsParts.count == 2)
        #expect(ucsParts[0].shortMessage.count == 6 + 132)
    }

    @Test func pduRoundTripsAndMalformedBodiesNameTheirField() throws {
        var message = ShortMessage()
        message.source = SMPPAddress(ton: 5, npi: 0, address: "ACME")
        message.destination = SMPPAddress(ton: 1, npi: 1, address: "37255512345")
        message.shortMessage = Array("hi".utf8)
        message.tlvs = [TLV.integer(TLV.sarTotalSegments, 2, octets: 1)]
        let pdu = PDU(.submitSm, sequence: 42, body: .submitSm(message))
        let bytes = pdu.encoded()
        #expect(bytes.prefix(4) == [0, 0, 0, UInt8(bytes.count)])
        #expect(try PDU.read(frame: bytes[...]) == pdu)

        // sm_length says 200 octets, but the PDU ends first.
        var bad = bytes
        let smLengthIndex = bad.count - 5 - 2 - 1  // TLV (5 octets), "hi", sm_length
        bad[smLengthIndex] = 200
        #expect(throws: SMPPError.self) { try PDU.read(frame: bad[...]) }
        do {
            _ = try PDU.read(frame: bad[...])
        } catch {
            #expect(error.description.contains("short_message"), "\(error)")
            #expect(error.sequence == 42)
        }
        // Octets that are not ASCII in a C-Octet String read back as they came.
        var latin = ShortMessage()
        latin.source = SMPPAddress(ton: 5, npi: 0, address: "Ãé\u{FF}")
        let odd = PDU(.deliverSm, sequence: 1, body: .deliverSm(latin))
        #expect(try PDU.read(frame: odd.encoded()[...]) == odd)
    }

    /// A receipt sent twice never settles another message whose id is the same number in the
    /// other base; once a receipt matched as written, only that reading is tried, and a receipt
    /// kept before its acceptance is kept under its own id only.
    @Test func receiptsFindOnlyTheirOwnMessage() {
        let matcher = ReceiptMatcher(format: .auto)
        _ = matcher.accepted("msg-ten", as: ["10"])
        _ = matcher.accepted("msg-sixteen", as: ["16"])
        #expect(matcher.recentMessage(for: "10")?.messageID == "msg-ten")
        // The same receipt again: "10" read as hex is 16, which is another message's id.
        #expect(matcher.recentMessage(for: "10") == nil)
        #expect(matcher.candidates("10") == ["10"])
        // A receipt for an id not yet accepted is not paired with one that is the same in hex.
        let early = DeliveryReceipt(messageID: "40", state: .delivered, error: nil)
        #expect(matcher.keepEarly(early) == nil)
        #expect(matcher.accepted("msg-sixty-four", as: ["64"]).isEmpty)
        #expect(matcher.accepted("msg-forty", as: ["40"]).map(\.messageID) == ["40"])

        // An SMSC that answers in hex and writes receipts in decimal is learned from its first one.
        let converting = ReceiptMatcher(format: .auto)
        _ = converting.accepted("msg-a", as: ["A"])
        #expect(converting.recentMessage(for: "10")?.messageID == "msg-a")
        #expect(converting.candidates("11").first == "B")
        // Its early receipts meet their acceptance in the other base.
        #expect(converting.keepEarly(DeliveryReceipt(messageID: "12", state: .delivered, error: nil)) == nil)
        #expect(converting.accepted("msg-c", as: ["C"]).map(\.messageID) == ["12"])
    }

    /// A receipt with a user data header (esm_class 0x44) is read after the header; a
    /// concatenation element whose value runs past the header is not read as one.
    @Test func receiptsAfterAHeaderAndCutElements() {
        var receipt = ShortMessage()
        receipt.esmClass = 0x44
        receipt.shortMessage =
            [5, 0, 3, 9, 1, 1]
            + Array("id:3008 sub:001 dlvrd:001 submit date:2612020100 done date:2612020101 stat:DELIVRD err:000".utf8)
        #expect(DeliveryReceipt(receipt)?.messageID == "3008")
        // The bit set over a bare text, as some SMSCs send it: the text is read whole.
        receipt.shortMessage = Array(receipt.shortMessage.dropFirst(6))
        #expect(DeliveryReceipt(receipt)?.messageID == "3008")
        #expect(TextCoding.concatenation(in: [0, 9, 1, 2, 1]) == nil)
        let whole = TextCoding.concatenation(in: [0, 3, 1, 2, 1])
        #expect(whole?.reference == 1 && whole?.total == 2 && whole?.sequence == 1)
    }

    /// A `deliver_sm_resp` or `submit_sm_resp` with optional parameters after message_id, as
    /// SMPP 5.0 peers send (network_error_code, additional_status_info_text), reads as its
    /// response; TLVs that end inside a tag are still refused.
    @Test func responsesWithOptionalParametersAreRead() throws {
        func frame(_ command: UInt32, _ body: [UInt8]) -> [UInt8] {
            func word(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
            return word(UInt32(16 + body.count)) + word(command) + word(0) + word(7) + body
        }
        let networkError: [UInt8] = [0x04, 0x23, 0, 3, 3, 0, 1]
        let statusText: [UInt8] = [0x00, 0x1D, 0, 3] + Array("ok".utf8) + [0]
        let deliverResp = try PDU.read(frame: frame(0x8000_0005, [0] + networkError + statusText)[...])
        #expect(deliverResp.commandID == .deliverSmResp && deliverResp.body == .messageResponse(messageID: ""))
        let submitResp = try PDU.read(frame: frame(0x8000_0004, Array("m1".utf8) + [0] + networkError)[...])
        #expect(submitResp.body == .messageResponse(messageID: "m1"))
        #expect(throws: SMPPError.self) { try PDU.read(frame: frame(0x8000_0005, [0, 0x04, 0x23, 0])[...]) }
    }

    @Test func receiptsReadFromTextAndTLVs() {
        var text = ShortMessage()
        text.esmClass = 0x04
        text.shortMessage = Array(
            "id:0012AB sub:001 dlvrd:000 submit date:2611300101 done date:2611300102 stat:UNDELIV err:034 text:hi".utf8)
        #expect(DeliveryReceipt(text) == DeliveryReceipt(messageID: "0012AB", state: .undeliverable, error: 34))
        var tlvs = ShortMessage()
        tlvs.esmClass = 0x04
        tlvs.tlvs = [TLV.cString(TLV.receiptedMessageID, "77"), TLV.integer(TLV.messageState, 2, octets: 1)]
        #expect(DeliveryReceipt(tlvs)?.state == .delivered)
        #expect(DeliveryReceipt(tlvs)?.messageID == "77")
    }
}
