// libFuzzer entry for the SMPP 3.4 codec (Sources/SMPP, without its SwiftNIO adapter): arbitrary
// bytes are cut into PDUs by command_length as the connection's decoder cuts them; every PDU read
// must re-encode to octets that read back as the same PDU, and the text and receipt readers must
// take any body without crashing, and neither must the SMPP server's submit_sm rules
// (SMPPSubmitRules) nor the strict reading it applies to a customer's text. Built by
// `scripts/fuzz build` with the codec as the module SMPP and the rules in this one.

import SMPP

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// The PDUs in `bytes`, cut as `SMPPFrameDecoder` cuts them, until a length it refuses.
func pdus(in bytes: [UInt8], maxLength: Int = 70_000) -> [Result<PDU, SMPPError>] {
    var results: [Result<PDU, SMPPError>] = []
    var offset = 0
    while bytes.count - offset >= 4 {
        let length = Int(bytes[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard length >= PDU.headerLength, length <= maxLength else { break }
        guard bytes.count - offset >= length else { break }
        let frame = bytes[offset..<offset + length]
        do {
            results.append(.success(try PDU.read(frame: frame)))
        } catch {
            results.append(.failure(error))
        }
        offset += length
    }
    return results
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMPP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    for result in pdus(in: bytes) {
        guard case .success(let pdu) = result else { continue }
        let encoded = pdu.encoded()
        check(encoded.count >= PDU.headerLength, "an encoded PDU is shorter than its header")
        let again = try? PDU.read(frame: encoded[...])
        check(again == pdu, "a \(pdu.commandID) PDU changes when re-encoded: \(pdu) became \(String(describing: again))")
        switch pdu.body {
        case .submitSm(let message), .deliverSm(let message):
            for coding in [TextCoding(), TextCoding(packing: .packed)] {
                if let (text, _) = try? coding.decode(message, command: pdu.commandID, sequence: pdu.sequence) {
                    // Whatever was read can be written again, in parts that fit a PDU.
                    let (_, parts) = coding.encode(text, reference: 1)
                    check(parts.allSatisfy { $0.shortMessage.count <= 254 }, "a part over 254 octets")
                }
            }
            _ = DeliveryReceipt(message)
            if pdu.commandID == .submitSm, SMPPSubmitRules.check(message) == nil {
                _ = try? TextCoding().decode(message, command: pdu.commandID, sequence: pdu.sequence, strict: true)
            }
        default:
            break
        }
    }
    return 0
}
