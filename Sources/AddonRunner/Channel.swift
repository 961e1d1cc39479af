import RunnerProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Blocking frame I/O on the runner's end of the socket.
struct Channel {
    let fd: Int32
    /// After an answer the next request often follows within microseconds (a burst of sends);
    /// reading on for this long catches it without the cost of sleeping and being woken.
    let spinNanoseconds: Int
    private var decoder = FrameDecoder()
    private var buffer = [UInt8](repeating: 0, count: 65536)

    init(fd: Int32, spinMicroseconds: Int) {
        self.fd = fd
        spinNanoseconds = spinMicroseconds * 1000
    }

    /// The next frame; nil when the daemon closed the channel (time to exit).
    mutating func read() -> Frame? {
        while true {
            do {
                if let frame = try decoder.next() { return frame }
            } catch {
                return nil
            }
            let count = receive()
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return nil }
            decoder.append(buffer[0..<count])
        }
    }

    private mutating func receive() -> Int {
        let fd = self.fd
        if spinNanoseconds > 0 {
            let deadline = Self.monotonicNanoseconds() + spinNanoseconds
            repeat {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { return count }
                // On a busy machine the daemon may be waiting for this very core.
                sched_yield()
            } while Self.monotonicNanoseconds() < deadline
        }
        return buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
    }

    private static func monotonicNanoseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }
}

/// Writes a whole frame; the add-on's own threads may log, so writes are serialised.
final class FrameWriter: @unchecked Sendable {
    // @unchecked: the mutex guards every write.
    private let fd: Int32
    private var mutex = pthread_mutex_t()

    init(fd: Int32) {
        self.fd = fd
        pthread_mutex_init(&mutex, nil)
    }

    func write(_ frame: Frame) {
        let bytes = frame.encoded()
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            if sent <= 0 { exit(0) }  // The daemon is gone.
            offset += sent
        }
    }
}
