import Foundation
import Logging
import NIOCore
import NIOSSL
import Prometheus
import Synchronization

/// A TLS listener's certificate chain and private key, read from PEM files and replaced in place
/// when the files are read again (SIGHUP), so a renewed certificate is served from the next
/// handshake on while open connections carry on.
///
/// Every handshake asks for the current pair (swift-nio-ssl's `sslContextCallback`), so no
/// listener is restarted and no connection dropped. A pair that cannot be used (unreadable file,
/// no certificate, a key that does not match the certificate) is refused and the one in service
/// stays. `/metrics` shows `switchboard_tls_certificate_expiry_timestamp_seconds{listener}`.
final class ListenerCertificate: Sendable {
    /// Why a certificate or key cannot be served.
    struct Unusable: Error, CustomStringConvertible {
        let description: String
    }

    private struct Pair {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    let listener: String
    let certificateFile: String
    let keyFile: String
    private let current: Mutex<Pair>
    private let expiry: Gauge?

    /// Reads the pair once; throws `Unusable` naming the file and the fix.
    /// - Parameters:
    ///   - listener: the listener's name in logs and metrics (`https`, `smpp_tls`).
    ///   - certificateFile: PEM, the server's certificate first, then its chain.
    ///   - keyFile: PEM, the private key of the first certificate.
    init(listener: String, certificateFile: String, keyFile: String, registry: PrometheusCollectorRegistry?) throws {
        self.listener = listener
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        let pair = try Self.read(certificateFile: certificateFile, keyFile: keyFile)
        current = Mutex(pair)
        expiry = registry?.makeGauge(
            descriptor: .init(
                namespace: "switchboard", subsystem: "tls", metricName: "certificate_expiry",
                unitName: "timestamp_seconds",
                helpText: "When the certificate a TLS listener serves stops being valid (Unix time)"),
            labels: [("listener", listener)])
        expiry?.set(Double(pair.chain[0].notValidAfter))
    }

    /// When the served certificate stops being valid (Unix seconds).
    var notValidAfter: Int { current.withLock { Int($0.chain[0].notValidAfter) } }

    /// Reads the files again and serves the new pair from the next handshake on.
    /// - Throws: `Unusable`; the pair in service stays.
    func reload() throws {
        let pair = try Self.read(certificateFile: certificateFile, keyFile: keyFile)
        current.withLock { $0 = pair }
        expiry?.set(Double(pair.chain[0].notValidAfter))
    }

    /// A server configuration that offers TLS 1.2 and 1.3 only, with swift-nio-ssl's default
    /// cipher suites (ECDHE with AES-GCM or ChaCha20-Poly1305), and asks this store for the pair
    /// at every handshake.
    func serverConfiguration() -> TLSConfiguration {
        let pair = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.sslContextCallback = { [self] _, promise in
            let pair = self.current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    private static func read(certificateFile: String, keyFile: String) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw Unusable(
                description:
                    "cannot read the certificate file \(certificateFile) (\(error)); give a PEM file with the server's certificate first, then its chain"
            )
        }
        guard !chain.isEmpty else {
            throw Unusable(
                description:
                    "the certificate file \(certificateFile) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw Unusable(
                description:
                    "cannot read the private key file \(keyFile) (\(error)); give the unencrypted PEM key of the certificate"
            )
        }
        // A context checks that the key is the certificate's (BoringSSL's SSL_CTX_check_private_key).
        do {
            _ = try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw Unusable(
                description:
                    "the private key in \(keyFile) is not the key of the certificate in \(certificateFile) (\(error)); give the pair that belongs together"
            )
        }
        return Pair(chain: chain, key: key)
    }
}

extension ListenerCertificate {
    /// `reload`, with the outcome in the log: the new expiry, or why the pair in service stays.
    func reloadLogged(logger: Logger) {
        do {
            try reload()
            logger.info(
                "TLS certificate reloaded",
                metadata: [
                    "listener": "\(listener)", "certificate_file": "\(certificateFile)",
                    "not_valid_after": "\(Date(timeIntervalSince1970: Double(notValidAfter)))",
                ])
        } catch {
            logger.error(
                "TLS certificate not reloaded; the one in service stays",
                metadata: ["listener": "\(listener)", "reason": "\(error)"])
        }
    }
}
