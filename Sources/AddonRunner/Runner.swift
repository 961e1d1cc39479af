import AddonABI
import Dispatch
import PluginAPI
import RunnerProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// The host vtable as the runner offers it: logs and records become frames to the daemon.
final class RunnerHost: @unchecked Sendable {
    // @unchecked: set up once before `create`; `now` is written only between calls into the add-on.
    let writer: FrameWriter
    var now: Int64 = 0
    let stateDirectory: UnsafeMutablePointer<CChar>
    let config: [String: UnsafeMutablePointer<CChar>]
    let vtable = UnsafeMutablePointer<sb_host>.allocate(capacity: 1)

    let refuseEmits: Bool

    init(writer: FrameWriter, setup: WireInit, refuseEmits: Bool) {
        self.writer = writer
        self.refuseEmits = refuseEmits
        stateDirectory = strdup(setup.stateDirectory)
        config = Dictionary(setup.config.map { ($0.0, strdup($0.1)!) }, uniquingKeysWith: { $1 })
        vtable.initialize(
            to: sb_host(
                struct_size: UInt32(MemoryLayout<sb_host>.size),
                abi: sb_abi_version(major: UInt32(SB_ABI_VERSION_MAJOR), minor: UInt32(SB_ABI_VERSION_MINOR)),
                host_data: nil,
                log: { host, level, message, length in
                    guard let runner = RunnerHost.from(host), let message else { return }
                    let text = String(
                        decoding: UnsafeRawBufferPointer(start: message, count: Int(min(length, 64 * 1024))),
                        as: UTF8.self)
                    // Normalised here, so the daemon reads the same level an in-process add-on's has.
                    runner.writer.write(Requests.log(level: ABILogLevel(abiLevel: level).abiLevel, text))
                },
                emit: { host, kind, account, key, json, length in
                    guard let runner = RunnerHost.from(host), !runner.refuseEmits, let kind, let account, let json,
                        length <= 1 << 20
                    else {
                        return -1
                    }
                    runner.writer.write(
                        Requests.emit(
                            .init(
                                kind: String(cString: kind), accountID: String(cString: account),
                                key: key.map { String(cString: $0) },
                                json: String(
                                    decoding: UnsafeRawBufferPointer(start: json, count: Int(length)), as: UTF8.self))))
                    return 0
                },
                now_ms: { host in RunnerHost.from(host)?.now ?? 0 },
                state_dir: { host in UnsafePointer(RunnerHost.from(host)?.stateDirectory) },
                config_get: { host, key in
                    guard let runner = RunnerHost.from(host), let key else { return nil }
                    return UnsafePointer(runner.config[String(cString: key)])
                },
                get_extension: { _, _ in nil }))
        vtable.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
    }

    static func from(_ host: UnsafePointer<sb_host>?) -> RunnerHost? {
        guard let data = host?.pointee.host_data else { return nil }
        return Unmanaged<RunnerHost>.fromOpaque(data).takeUnretainedValue()
    }
}

struct Runner {
    var channel: Channel
    let writer: FrameWriter
    /// The manifest's hooks by name, from `--hooks`; nil when the daemon did not pass them.
    let hookNames: [String]?
    /// `--refuse-emits`: `emit` answers every record with a refusal (the validator's rule that an
    /// add-on copes with the host refusing its records; the daemon never passes it).
    let refuseEmits: Bool

    init(channel fd: Int32, spinMicroseconds: Int, hookNames: [String]?, refuseEmits: Bool = false) {
        self.channel = Channel(fd: fd, spinMicroseconds: spinMicroseconds)
        writer = FrameWriter(fd: fd)
        self.hookNames = hookNames
        self.refuseEmits = refuseEmits
    }

    func fail(_ reason: String) -> Never {
        writer.write(Frame(.failed, Array(reason.utf8)))
        exit(2)
    }

    mutating func serve() {
        guard let first = channel.read(), first.type == .initialize, let setup = try? WireInit.decode(first.body) else {
            fail("the first frame was not a valid initialize frame")
        }
        let hooks = hookNames?.map { name in
            guard let hook = ABIEventType(name: name) else {
                fail(
                    "--hooks names \"\(name)\", which is not an event; use \(ABIEventType.allCases.map(\.name).joined(separator: ", "))"
                )
            }
            return hook
        }
        // The same checks, in the same order and with the same messages, as the in-process loader.
        let expecting = ValidatedDescriptor.Expectation(id: setup.addonID, version: setup.version, hooks: hooks)
        let descriptor: ValidatedDescriptor
        do throws(DescriptorError) {
            descriptor = try ValidatedDescriptor.load(library: setup.libraryPath, expecting: expecting)
        } catch {
            fail(error.message)
        }
        let host = RunnerHost(writer: writer, setup: setup, refuseEmits: refuseEmits)
        var instance: UnsafeMutableRawPointer
        do throws(DescriptorError) {
            instance = try descriptor.instantiate(UnsafePointer(host.vtable))
        } catch {
            fail(error.message)
        }
        // READY carries the descriptor's flags and ABI version (u32 each: flags, major, minor), so a
        // validator knows what the add-on declared.
        var ready = WireWriter()
        ready.u32(descriptor.flags)
        ready.u32(descriptor.abiMajor)
        ready.u32(descriptor.abiMinor)
        writer.write(Frame(.ready, ready.bytes))
        while let frame = channel.read() {
            do {
                try respond(to: frame, descriptor: descriptor, instance: &instance, host: host)
            } catch {
                exit(3)  // A frame the daemon would never send: stop rather than guess.
            }
        }
        descriptor.destroy(instance)
    }

    func respond(
        to frame: Frame, descriptor: ValidatedDescriptor, instance: inout UnsafeMutableRawPointer,
        host: RunnerHost
    ) throws {
        var reader = WireReader(frame.body)
        let id = try reader.u64()
        host.now = try reader.i64()
        switch frame.type {
        case .events:
            let count = Int(try reader.u32())
            var codes: [Int32] = []
            for _ in 0..<count {
                let event = try WireEvent.read(from: &reader)
                let code =
                    descriptor.onEvent.map { onEvent in event.withCEvent { onEvent(instance, $0) } }
                    ?? SB_ERROR
                codes.append(code)
                if code == SB_RETRY { break }
            }
            writer.write(Requests.codes(id: id, descriptor.endBatch(instance, answering: codes), type: .eventResults))
        case .recreate:
            let count = try reader.u32()
            for cycle in 0..<count {
                descriptor.destroy(instance)
                do throws(DescriptorError) {
                    instance = try descriptor.instantiate(UnsafePointer(host.vtable))
                } catch {
                    fail("create failed on cycle \(cycle + 1) of \(count): \(error.message)")
                }
            }
            writer.write(Requests.codes(id: id, [SB_OK], type: .eventResults))
        case .concurrentEvents:
            let threads = Int(try reader.u32())
            let count = Int(try reader.u32())
            guard (1...64).contains(threads), count < 100_000 else { throw FrameError.truncated }
            let events = try (0..<count).map { _ in try WireEvent.read(from: &reader) }
            let codes = Self.deliverConcurrently(
                events, threads: threads, onEvent: descriptor.onEvent, instance: instance)
            writer.write(Requests.codes(id: id, codes, type: .eventResults))
        case .check:
            let event = try WireEvent.read(from: &reader)
            var verdict = sb_verdict()
            verdict.struct_size = UInt32(MemoryLayout<sb_verdict>.size)
            let code =
                descriptor.check.map { check in event.withCEvent { check(instance, $0, &verdict) } } ?? SB_OK
            let reasonCode = withUnsafeBytes(of: verdict.reason_code) { Self.cString($0) }
            let reason = withUnsafeBytes(of: verdict.reason) { Self.cString($0) }
            writer.write(
                Requests.verdict(
                    id: id, .init(code: code, action: verdict.action, reasonCode: reasonCode, reason: reason)))
        case .erase:
            let subject = try Requests.readSubject(&reader)
            let code = descriptor.erase.map { erase in subject.withCSubject { erase(instance, $0) } } ?? SB_OK
            writer.write(Requests.codes(id: id, descriptor.endBatch(instance, answering: [code]), type: .eraseResult))
        default:
            throw FrameError.unknownType(frame.type.rawValue)
        }
    }

    /// Each of `threads` threads delivers every event, all at once: what a host may do with an
    /// add-on that sets `SB_ADDON_THREAD_SAFE`. The codes, thread after thread.
    static func deliverConcurrently(
        _ events: [WireEvent], threads: Int, onEvent: ValidatedDescriptor.OnEvent?, instance: UnsafeMutableRawPointer
    ) -> [Int32] {
        let results = UnsafeMutableBufferPointer<Int32>.allocate(capacity: threads * events.count)
        defer { results.deallocate() }
        results.initialize(repeating: SB_ERROR)
        nonisolated(unsafe) let shared = (results: results, instance: instance)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for (index, event) in events.enumerated() {
                shared.results[thread * events.count + index] =
                    onEvent.map { onEvent in event.withCEvent { onEvent(shared.instance, $0) } } ?? SB_ERROR
            }
        }
        return Array(results)
    }

    static func cString(_ bytes: UnsafeRawBufferPointer) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
