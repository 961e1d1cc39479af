/// One field of an event as it crosses to the runner (the same shape as `sb_field`).
public struct WireField: Sendable, Equatable {
    public var id: String
    public var kind: UInt32
    public var bytes: [UInt8]
    public var intValue: Int64

    public init(id: String, kind: UInt32, bytes: [UInt8], intValue: Int64) {
        self.id = id
        self.kind = kind
        self.bytes = bytes
        self.intValue = intValue
    }
}

/// An event view as it crosses to the runner (the same shape as `sb_event`).
public struct WireEvent: Sendable, Equatable {
    public var type: UInt32
    public var typeName: String
    public var eventID: String
    public var accountID: String
    public var timeMs: Int64
    public var fields: [WireField]

    public init(type: UInt32, typeName: String, eventID: String, accountID: String, timeMs: Int64, fields: [WireField])
    {
        self.type = type
        self.typeName = typeName
        self.eventID = eventID
        self.accountID = accountID
        self.timeMs = timeMs
        self.fields = fields
    }

    public func write(to writer: inout WireWriter) {
        writer.u32(type)
        writer.string(typeName)
        writer.string(eventID)
        writer.string(accountID)
        writer.i64(timeMs)
        writer.u32(UInt32(fields.count))
        for field in fields {
            writer.string(field.id)
            writer.u32(field.kind)
            writer.data(field.bytes)
            writer.i64(field.intValue)
        }
    }

    public static func read(from reader: inout WireReader) throws -> WireEvent {
        let type = try reader.u32()
        let typeName = try reader.string()
        let eventID = try reader.string()
        let accountID = try reader.string()
        let time = try reader.i64()
        let count = Int(try reader.u32())
        guard count < 10_000 else { throw FrameError.truncated }
        var fields: [WireField] = []
        for _ in 0..<count {
            fields.append(
                WireField(
                    id: try reader.string(), kind: try reader.u32(), bytes: try reader.data(),
                    intValue: try reader.i64()))
        }
        return WireEvent(
            type: type, typeName: typeName, eventID: eventID, accountID: accountID, timeMs: time, fields: fields)
    }
}

/// What the runner needs to load the add-on.
public struct WireInit: Sendable, Equatable {
    public var libraryPath: String
    public var addonID: String
    public var version: String
    public var stateDirectory: String
    public var config: [(String, String)]

    public init(
        libraryPath: String, addonID: String, version: String, stateDirectory: String, config: [(String, String)]
    ) {
        self.libraryPath = libraryPath
        self.addonID = addonID
        self.version = version
        self.stateDirectory = stateDirectory
        self.config = config
    }

    public static func == (lhs: WireInit, rhs: WireInit) -> Bool {
        lhs.libraryPath == rhs.libraryPath && lhs.addonID == rhs.addonID && lhs.version == rhs.version
            && lhs.stateDirectory == rhs.stateDirectory && lhs.config.map(\.0) == rhs.config.map(\.0)
            && lhs.config.map(\.1) == rhs.config.map(\.1)
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        writer.string(libraryPath)
        writer.string(addonID)
        writer.string(version)
        writer.string(stateDirectory)
        writer.u32(UInt32(config.count))
        for (key, value) in config {
            writer.string(key)
            writer.string(value)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> WireInit {
        var reader = WireReader(bytes)
        let library = try reader.string()
        let id = try reader.string()
        let version = try reader.string()
        let state = try reader.string()
        let count = Int(try reader.u32())
        var config: [(String, String)] = []
        for _ in 0..<count { config.append((try reader.string(), try reader.string())) }
        return WireInit(libraryPath: library, addonID: id, version: version, stateDirectory: state, config: config)
    }
}
