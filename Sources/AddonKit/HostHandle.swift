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

    public enum Level: UInt32 {
        case debug = 0, info, warning, error
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
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
