import Foundation
import RunnerProtocol
import SwitchboardCore

/// How an event is kept in an add-on's outbox until it is delivered: a format byte, then the fields
/// in the runner protocol's length-prefixed encoding. JSON (the first format, still read) cost
/// more to encode and decode than the rest of queuing and delivering an event.
extension DomainEvent {
    private static let binaryFormat: UInt8 = 1

    package var stored: Data {
        var writer = WireWriter()
        writer.u8(Self.binaryFormat)
        writer.string(id)
        writer.string(type.rawValue)
        writer.string(accountID)
        writer.i64(timeMs)
        writer.u32(UInt32(fields.count))
        for (name, value) in fields {
            writer.string(name)
            switch value {
            case .text(let text):
                writer.u8(0)
                writer.string(text)
            case .int(let number):
                writer.u8(1)
                writer.i64(number)
            }
        }
        return Data(writer.bytes)
    }

    package init(stored: Data) throws {
        guard stored.first == Self.binaryFormat else {
            self = try JSONDecoder().decode(DomainEvent.self, from: stored)
            return
        }
        var reader = WireReader(Array(stored.dropFirst()))
        let id = try reader.string()
        guard let type = EventType(rawValue: try reader.string()) else { throw StoredEventError.unknownType }
        let accountID = try reader.string()
        let timeMs = try reader.i64()
        var fields: [String: FieldValue] = [:]
        for _ in 0..<(try reader.u32()) {
            let name = try reader.string()
            switch try reader.u8() {
            case 0: fields[name] = .text(try reader.string())
            case 1: fields[name] = .int(try reader.i64())
            default: throw StoredEventError.unknownValueKind
            }
        }
        self.init(id: id, type: type, accountID: accountID, timeMs: timeMs, fields: fields)
    }
}

enum StoredEventError: Error {
    case unknownType, unknownValueKind
}
