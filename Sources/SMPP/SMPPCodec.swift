import NIOCore

/// Cuts the byte stream into PDUs by `command_length` (SMPP 3.4 §3.2) and parses each.
///
/// A `command_length` below 16 or above `maxLength` cannot be resynchronised (there is no frame
/// marker in SMPP), so it is an error that ends the connection. A body that does not parse is
/// passed on as the error it is, with the PDU's sequence number, for the handler to answer.
public struct SMPPFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Result<PDU, SMPPError>

    /// The largest PDU accepted, in octets. A `submit_sm` with a 64 KiB `message_payload` is the
    /// largest legitimate PDU; 70,000 leaves room for its other fields.
    public let maxLength: Int

    public init(maxLength: Int = 70_000) {
        self.maxLength = maxLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length >= PDU.headerLength, length <= maxLength else {
            // Answered under the PDU's own sequence_number when its header arrived (SMPP 3.4 §3.2:
            // the generic_nack names the request it refuses).
            let sequence = buffer.getInteger(at: buffer.readerIndex + 12, as: UInt32.self) ?? 0
            throw SMPPError.invalidCommandLength(length, limit: maxLength, sequence: sequence)
        }
        guard let frame = buffer.readBytes(length: Int(length)) else { return .needMoreData }
        let result: Result<PDU, SMPPError>
        do {
            result = .success(try PDU.read(frame: frame[...]))
        } catch {
            result = .failure(error)
        }
        context.fireChannelRead(wrapInboundOut(result))
        return .continue
    }
}

/// Writes PDUs.
public struct SMPPEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = PDU

    public init() {}

    public func encode(data: PDU, out: inout ByteBuffer) throws {
        out.writeBytes(data.encoded())
    }
}
