import PluginAPI

#if canImport(Glibc)
    import Glibc
#endif

/// The host's services, as given to `create`. Valid until `destroy` returns.
public struct HostHandle: @unchecked Sendable {
    public let raw: UnsafePointer<sb_host>

    public init(_ raw: UnsafePointer<sb_host>) {
        self.raw = raw
    }

    /// The level of a log line; its raw value is the header's `SB_LOG_*` value.
    public enum Level: RawRepresentable, Sendable {
        case debug, info, warning, error

        public init?(rawValue: UInt32) {
            switch rawValue {
            case UInt32(SB_LOG_DEBUG): self = .debug
            case UInt32(SB_LOG_INFO): self = .info
            case UInt32(SB_LOG_WARNING): self = .warning
            case UInt32(SB_LOG_ERROR): self = .error
            default: return nil
            }
        }

        public var rawValue: UInt32 {
            switch self {
            case .debug: UInt32(SB_LOG_DEBUG)
            case .info: UInt32(SB_LOG_INFO)
            case .warning: UInt32(SB_LOG_WARNING)
            case .error: UInt32(SB_LOG_ERROR)
            }
        }
    }

    public func log(_ level: Level, _ message: String) {
        message.withCString { raw.pointee.log(raw, level.rawValue, $0, UInt64(strlen($0))) }
    }

    /// Emits a record ("report", "alert" or "metric"); returns false when the host refused it.
    @discardableResult
    public func emit(kind: String, accountID: String, key: String?, json: String) -> Bool {
        json.withCString { bytes in
            let length = UInt64(strlen(bytes))
            guard let key else { return raw.pointee.emit(raw, kind, accountID, nil, bytes, length) == 0 }
            return key.withCString { raw.pointee.emit(raw, kind, accountID, $0, bytes, length) == 0 }
        }
    }

    public var nowMs: Int64 { raw.pointee.now_ms(raw) }

    public var stateDirectory: String { raw.pointee.state_dir(raw).map { String(cString: $0) } ?? "." }

    public func config(_ key: String) -> String? {
        raw.pointee.config_get(raw, key).map { String(cString: $0) }
    }
}

/// Minimal JSON string escaping for records built by hand.
public func jsonString(_ text: String) -> String {
    var out: [UInt8] = [UInt8(ascii: "\"")]
    out.reserveCapacity(text.utf8.count + 2)
    // Bytes, not scalars: only ASCII needs escaping, and add-ons call this for every record.
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
        case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        default: out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
    return String(decoding: out, as: UTF8.self)
}
