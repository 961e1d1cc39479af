import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Resolves a host name to every address the system resolver (`getaddrinfo(3)`) gives for it.
///
/// The lookup blocks a thread, so it runs on a Dispatch worker; a caller that is cancelled (its
/// attempt timed out) stops waiting at once and the lookup's answer is dropped when it comes.
enum HostResolver {
    /// Why a name could not be resolved: the resolver's own words, e.g. `Name or service not known`.
    struct Failure: Error, CustomStringConvertible {
        var host: String
        var reason: String
        var description: String { "cannot resolve \(host): \(reason)" }
    }

    /// Every IPv4 and IPv6 address of `host`, in the resolver's order, without duplicates.
    /// - Throws: `Failure` when the resolver finds none; `CancellationError` when the task is cancelled.
    static func addresses(of host: String) async throws -> [HostAddress] {
        let waiter = Waiter()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard waiter.arm(continuation) else { return }
                DispatchQueue.global().async {
                    waiter.resume(with: Result { try lookUp(host) })
                }
            }
        } onCancel: {
            waiter.resume(with: .failure(CancellationError()))
        }
    }

    private static func lookUp(_ host: String) throws -> [HostAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [HostAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor?.pointee {
            cursor = entry.ai_next
            guard let raw = entry.ai_addr.map(UnsafeRawPointer.init) else { continue }
            let address: HostAddress?
            switch entry.ai_family {
            case AF_INET:
                let offset = MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
                address = HostAddress(bytes: Array(UnsafeRawBufferPointer(start: raw + offset, count: 4)))
            case AF_INET6:
                let offset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                address = HostAddress(bytes: Array(UnsafeRawBufferPointer(start: raw + offset, count: 16)))
            default:
                address = nil
            }
            if let address, !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else { throw Failure(host: host, reason: "no IPv4 or IPv6 address") }
        return addresses
    }

    /// A continuation resumed exactly once, by the lookup or by cancellation, whichever comes first;
    /// a cancellation that comes before the continuation exists is remembered.
    private final class Waiter: Sendable {
        private enum State {
            case idle
            case armed(CheckedContinuation<[HostAddress], any Error>)
            case done
        }

        private let state = Mutex(State.idle)

        /// False when the task was already cancelled (the continuation is then resumed here).
        func arm(_ continuation: CheckedContinuation<[HostAddress], any Error>) -> Bool {
            let armed = state.withLock { state -> Bool in
                guard case .idle = state else { return false }
                state = .armed(continuation)
                return true
            }
            if !armed { continuation.resume(throwing: CancellationError()) }
            return armed
        }

        func resume(with result: Result<[HostAddress], any Error>) {
            let continuation = state.withLock { state -> CheckedContinuation<[HostAddress], any Error>? in
                defer { state = .done }
                if case .armed(let continuation) = state { return continuation }
                return nil
            }
            continuation?.resume(with: result)
        }
    }
}
