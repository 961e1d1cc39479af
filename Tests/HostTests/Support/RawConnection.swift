import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to 127.0.0.1, for clients no HTTP library would be: one that connects
/// and says nothing, one that trickles a request head byte by byte.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    /// - Parameter source: the loopback address to connect from (`127.0.0.2`…), to look like
    ///   another client; nil: the kernel's choice.
    init(port: Int, from source: String? = nil) throws {
        // Connected before `self` exists: a class whose initializer throws once every property is
        // set still runs `deinit`, and a second close of a number the kernel already gave to
        // another socket (the in-process daemon's) would close that one.
        fd = try Self.connected(port: port, from: source)
    }

    private static func connected(port: Int, from source: String?) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard bound else {
                let code = errno
                close(fd)
                throw TestFailure("bind() to \(source) failed: errno \(code)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            let code = errno
            close(fd)
            throw TestFailure("connect() failed: errno \(code)")
        }
        return fd
    }

    deinit { close(fd) }

    /// Writes `text`; false when the peer has closed the connection.
    @discardableResult
    func write(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// What arrives within `seconds`: the bytes read until the peer closed or the time ran out,
    /// and whether the peer closed.
    func read(seconds: Double) -> (text: String, closed: Bool) {
        var collected = [UInt8]()
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (String(decoding: collected, as: UTF8.self), true) }
            collected += buffer[0..<count]
        }
        return (String(decoding: collected, as: UTF8.self), false)
    }
}

extension RawConnection {
    /// Writes raw bytes; false when the peer has closed the connection.
    @discardableResult
    func write(bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// The bytes that arrive within `seconds`, and whether the peer closed; stops early once
    /// `enough` says the bytes so far are all the caller waits for.
    func readBytes(
        seconds: Double, until enough: ([UInt8]) -> Bool = { _ in false }
    ) -> (bytes: [UInt8], closed: Bool) {
        var collected = [UInt8]()
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline, !enough(collected) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (collected, true) }
            collected += buffer[0..<count]
        }
        return (collected, false)
    }
}

/// Runs blocking socket work on a thread of its own, not on the few threads Swift's tasks share
/// (the in-process daemon's work runs there too).
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}
