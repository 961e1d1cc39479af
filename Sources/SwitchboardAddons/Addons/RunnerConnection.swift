import Foundation
import Logging
import RunnerProtocol

/// A runner that answered READY: its process and the inbox its frames arrive in. The supervisor's
/// state machine knows it as its `Runner`; two are equal when they are the same process.
struct RunnerConnection: Sendable, Equatable {
    let process: RunnerProcess
    let inbox: RunnerInbox
    /// The descriptor's `SB_ADDON_*` flags, as the runner reported them with READY.
    var flags: UInt32 = 0
    /// The descriptor's ABI version (`abi.major`, `abi.minor`) as the runner reported it with READY;
    /// nil from a runner that does not report it.
    var abi: (major: UInt32, minor: UInt32)?

    static func == (lhs: RunnerConnection, rhs: RunnerConnection) -> Bool {
        lhs.process === rhs.process
    }

    /// How long a new runner may take to load its library and answer READY, ms.
    static let handshakeTimeoutMs: Int32 = 10_000

    /// Spawns a runner, sends it INIT (`setup`) and waits for READY. A runner that refuses the
    /// library, breaks the protocol or does not answer in time is reaped before this throws.
    static func open(
        executable: String, arguments: [String], setup: WireInit, addonID: String, logger: Logger,
        onStdout: (@Sendable (String) -> Void)? = nil
    ) throws(RunnerProcess.SpawnError) -> RunnerConnection {
        let process = try RunnerProcess.spawn(
            executable: executable, arguments: arguments, addonID: addonID, logger: logger, onStdout: onStdout)
        guard process.write(Frame(.initialize, setup.encoded())) else {
            process.kill()
            throw RunnerProcess.SpawnError(description: "the runner \(process.reap()) before it could be initialised")
        }
        var decoder = FrameDecoder()
        switch readHandshake(process.socket, &decoder, timeoutMs: handshakeTimeoutMs) {
        case .ready(let flags, let abi):
            return RunnerConnection(
                process: process, inbox: RunnerInbox(socket: process.socket, decoder: decoder), flags: flags, abi: abi)
        case .failed(let reason):
            _ = process.reap()
            throw RunnerProcess.SpawnError(description: reason)
        case .broken(let reason):
            process.kill()
            throw RunnerProcess.SpawnError(description: "\(reason); the runner \(process.reap())")
        }
    }

    private enum Handshake {
        case ready(flags: UInt32, abi: (major: UInt32, minor: UInt32)?), failed(String), broken(String)
    }

    /// Reads up to READY (the runner's log lines may come first); frames after it stay in `decoder`.
    private static func readHandshake(_ fd: Int32, _ decoder: inout FrameDecoder, timeoutMs: Int32) -> Handshake {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            do {
                if let frame = try decoder.next() {
                    switch frame.type {
                    case .ready:
                        var reader = WireReader(frame.body)
                        let flags = (try? reader.u32()) ?? 0
                        guard let major = try? reader.u32(), let minor = try? reader.u32() else {
                            return .ready(flags: flags, abi: nil)
                        }
                        return .ready(flags: flags, abi: (major, minor))
                    case .failed: return .failed(String(decoding: frame.body, as: UTF8.self))
                    case .log: continue
                    default: return .broken("the runner answered \(frame.type) before READY")
                    }
                }
            } catch {
                return .broken("the runner sent garbage: \(error)")
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeoutMs)
            if ready == 0 { return .broken("no answer from the runner within \(timeoutMs) ms") }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return .broken("the runner closed its channel") }
            decoder.append(buffer[0..<count])
        }
    }
}
