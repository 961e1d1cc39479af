import RunnerProtocol
import SwitchboardCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's reading end of one runner's socket. Two parties read it: the runner's reader thread,
/// which waits in `poll`, and a task waiting for a check, which reads for a few microseconds itself
/// rather than wait for the reader thread to wake and then for a pool thread to be woken in turn
/// (on this class of machine each wake-up costs more than the whole check). Reading and decoding
/// happen under one lock, so frames are handled once and in order.
final class RunnerInbox: Sendable {
    enum Pump {
        /// Everything available was read and handled.
        case drained
        /// The runner closed its end, or sent a frame no honest runner sends (the reason).
        case closed, invalid(String)
        /// Another party is reading right now.
        case busy
    }

    private struct Reading: ~Copyable {
        var decoder: FrameDecoder
        var buffer = [UInt8](repeating: 0, count: 65536)
        var ended: Pump?
    }

    private let socket: Int32
    private let reading: Mutex<Reading>

    init(socket: Int32, decoder: FrameDecoder) {
        self.socket = socket
        reading = Mutex(Reading(decoder: decoder))
    }

    /// Reads what is there without blocking and hands each whole frame to `handle`, in order.
    /// `wait` takes the lock even when another party holds it (the reader thread does; a spinning
    /// caller does not, so it never waits behind a large batch being decoded).
    func pump(wait: Bool, _ handle: (Frame) -> Void) -> Pump {
        func drain(_ reading: inout Reading) -> Pump {
            if let ended = reading.ended { return ended }
            while true {
                do {
                    while let frame = try reading.decoder.next() { handle(frame) }
                } catch {
                    let ended = Pump.invalid("sent an invalid frame (\(error))")
                    reading.ended = ended
                    return ended
                }
                let socket = self.socket
                let count = reading.buffer.withUnsafeMutableBytes {
                    recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
                }
                if count > 0 {
                    reading.decoder.append(reading.buffer[0..<count])
                    continue
                }
                if count < 0 && errno == EINTR { continue }
                if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .drained }
                reading.ended = .closed
                return .closed
            }
        }
        if wait { return reading.withLock { drain(&$0) } }
        return reading.withLockIfAvailable { drain(&$0) } ?? .busy
    }

    /// Blocks until the socket has something to read or is closed (the reader thread's wait).
    func waitReadable() {
        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, -1) < 0 && errno == EINTR {}
    }
}
