import PluginAPI
import RunnerProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Lays protocol values out as the C ABI's structs, for the in-process loader and the runner alike.
extension WireEvent {
    /// The event as a C `sb_event` valid during `body` only (the ABI's call-scoped rule): all strings
    /// in one buffer, the fields in one array.
    public func withCEvent<R>(_ body: (UnsafePointer<sb_event>) -> R) -> R {
        // Sized once and filled from the strings' UTF-8 views: growing the buffer and copying each
        // string into an array of its own first was most of this function's cost, which runs for
        // every event each add-on receives.
        var size = typeName.utf8.count + eventID.utf8.count + accountID.utf8.count + 3
        for field in fields { size += field.id.utf8.count + field.bytes.count + 2 }
        var storage: [UInt8] = []
        storage.reserveCapacity(size)
        func append(_ bytes: some Collection<UInt8>) -> Int {
            let offset = storage.count
            storage.append(contentsOf: bytes)
            storage.append(0)
            return offset
        }
        let typeOffset = append(typeName.utf8)
        let eventOffset = append(eventID.utf8)
        let accountOffset = append(accountID.utf8)
        let offsets = fields.map { (append($0.id.utf8), append($0.bytes)) }
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            func cString(_ offset: Int) -> UnsafePointer<CChar> { (base + offset).assumingMemoryBound(to: CChar.self) }
            let cFields = zip(fields, offsets).map { field, offset in
                sb_field(
                    id: cString(offset.0), kind: field.kind, reserved: 0,
                    bytes: field.kind == ABIFieldKind.int.code
                        ? nil : (base + offset.1).assumingMemoryBound(to: UInt8.self),
                    length: UInt64(field.bytes.count), int_value: field.intValue)
            }
            return cFields.withUnsafeBufferPointer { fieldBuffer in
                var event = sb_event(
                    struct_size: UInt32(MemoryLayout<sb_event>.size), type: type, type_name: cString(typeOffset),
                    event_id: cString(eventOffset), account_id: cString(accountOffset), time_ms: timeMs,
                    fields: fieldBuffer.baseAddress, field_count: UInt32(fieldBuffer.count), reserved: 0)
                return withUnsafePointer(to: &event) { body($0) }
            }
        }
    }
}

extension Requests.Subject {
    /// The subject as a C `sb_subject` valid during `body` only.
    public func withCSubject<R>(_ body: (UnsafePointer<sb_subject>) -> R) -> R {
        let valueBytes = Array((value ?? "").utf8)
        let pseudonymBytes = Array((pseudonym ?? "").utf8)
        return accountID.withCString { account in
            valueBytes.withUnsafeBufferPointer { valueBuffer in
                pseudonymBytes.withUnsafeBufferPointer { pseudonymBuffer in
                    var subject = sb_subject(
                        struct_size: UInt32(MemoryLayout<sb_subject>.size), kind: kind, account_id: account,
                        value: value == nil ? nil : valueBuffer.baseAddress, value_length: UInt64(valueBytes.count),
                        pseudonym: pseudonym == nil ? nil : pseudonymBuffer.baseAddress,
                        pseudonym_length: UInt64(pseudonymBytes.count))
                    return withUnsafePointer(to: &subject) { body($0) }
                }
            }
        }
    }
}
