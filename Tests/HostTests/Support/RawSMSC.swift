import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An SMSC on a raw socket for answers no real SMSC gives on purpose: it binds whoever asks,
/// answers `enquire_link`, and answers each `submit_sm` with the octets `answer` returns for it
/// (its sequence number and how many submits came before it). It counts the submits.
final class RawSMSC: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let submits = Atomic(0)
    private let answer: @Sendable (_ sequence: UInt32, _ index: Int) -> [UInt8]

    var submitCount: Int { submits.load(ordering: .relaxed) }

    init(answer: @escaping @Sendable (_ sequence: UInt32, _ index: Int) -> [UInt8]) throws {
        self.answer = answer
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard bound, listen(fd, 8) == 0 else {
            close(fd)
            throw TestFailure("the raw SMSC could not listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Stops listening; connections end when the daemon closes them.
    func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    static func pdu(_ command: UInt32, status: UInt32 = 0, sequence: UInt32, body: [UInt8] = []) -> [UInt8] {
        func word(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
        return word(UInt32(16 + body.count)) + word(command) + word(status) + word(sequence) + body
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            Thread.detachNewThread { [self] in serve(connection) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            pending += buffer[0..<count]
            while pending.count >= 16 {
                func word(_ at: Int) -> UInt32 { pending[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
                let length = Int(word(0))
                guard length >= 16 else { return }
                guard pending.count >= length else { break }
                let (command, sequence) = (word(4), word(12))
                pending.removeFirst(length)
                let reply: [UInt8]
                switch command {
                case 1, 2, 9: reply = Self.pdu(command | 0x8000_0000, sequence: sequence, body: Array("raw\0".utf8))
                case 0x15: reply = Self.pdu(0x8000_0015, sequence: sequence)
                case 4: reply = answer(sequence, submits.wrappingAdd(1, ordering: .relaxed).oldValue)
                case 6: reply = Self.pdu(0x8000_0006, sequence: sequence)
                default: reply = []
                }
                _ = reply.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }

    deinit { close(listener) }
}
