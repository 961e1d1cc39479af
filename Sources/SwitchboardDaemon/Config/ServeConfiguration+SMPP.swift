import SMPP
import SwitchboardCore
import SwitchboardSMPP

extension ServeConfiguration {
    /// Reads `smpp_connectors`: the SMSCs messages leave through, in routing order. Without any,
    /// the built-in simulator is the carrier.
    mutating func applySMPPConnectors(_ reader: inout ConfigReader) {
        var names = Set<String>()
        var connectors: [SMPPConnectorSettings] = []
        reader.objects("smpp_connectors") { index, sub in
            sub.allow([
                "name", "host", "port", "system_id", "password", "system_type", "bind_mode", "window",
                "max_submits_per_second", "enquire_link_seconds", "response_timeout_seconds",
                "reconnect_min_seconds", "reconnect_max_seconds", "prefixes", "source_ton", "source_npi",
                "destination_ton", "destination_npi", "gsm7_packing", "long_messages", "registered_delivery",
                "receipt_id_format", "tls",
            ])
            let present = ["name", "host", "port", "system_id", "password"].map { sub.required($0) }
            var name = "", host = "", systemID = "", password = ""
            var port = 2775
            sub.string("name", into: &name)
            sub.string("host", into: &host)
            sub.int("port", in: 1...65535, into: &port)
            sub.string("system_id", into: &systemID)
            sub.string("password", into: &password)
            guard !present.contains(false) else { return }
            if !names.insert(name).inserted {
                sub.record("name", "\"\(name)\" names another connector too; give each a different name")
            }
            if systemID.utf8.count > 15 {
                sub.record("system_id", "is \(systemID.utf8.count) characters; SMPP 3.4 allows at most 15")
            }
            if password.utf8.count > 8 {
                sub.record("password", "is \(password.utf8.count) characters; SMPP 3.4 allows at most 8")
            }
            var settings = SMPPConnectorSettings(
                name: name, host: host, port: port, systemID: systemID, password: password)
            sub.string("system_type", into: &settings.systemType)
            if settings.systemType.utf8.count > 12 {
                sub.record("system_type", "is longer than the 12 characters SMPP 3.4 allows")
            }
            sub.enumeration("bind_mode", into: &settings.bindMode)
            sub.int("window", in: 1...1000, into: &settings.window)
            var rate = 0.0
            sub.double("max_submits_per_second", in: 0.1...100_000, into: &rate)
            if rate > 0 { settings.maxSubmitsPerSecond = rate }
            sub.int("enquire_link_seconds", in: 1...3600, into: &settings.enquireLinkSeconds)
            sub.int("response_timeout_seconds", in: 1...300, into: &settings.responseTimeoutSeconds)
            sub.double("reconnect_min_seconds", in: 0.1...600, into: &settings.reconnectMinSeconds)
            sub.double("reconnect_max_seconds", in: 0.1...3600, into: &settings.reconnectMaxSeconds)
            sub.stringArray("prefixes", into: &settings.prefixes)
            for prefix in settings.prefixes where !prefix.hasPrefix("+") || !prefix.dropFirst().allSatisfy(\.isNumber) {
                sub.record("prefixes", "\"\(prefix)\" is not a destination prefix; write + and digits, as \"+372\"")
            }
            func byte(_ key: String, into target: inout UInt8?) {
                var value = -1
                sub.int(key, in: 0...255, into: &value)
                if value >= 0 { target = UInt8(value) }
            }
            byte("source_ton", into: &settings.sourceTON)
            byte("source_npi", into: &settings.sourceNPI)
            byte("destination_ton", into: &settings.destinationTON)
            byte("destination_npi", into: &settings.destinationNPI)
            sub.enumeration("gsm7_packing", into: &settings.text.packing)
            sub.enumeration("long_messages", into: &settings.text.longMessages)
            var delivery = Int(settings.registeredDelivery)
            sub.int("registered_delivery", in: 0...2, into: &delivery)
            settings.registeredDelivery = UInt8(delivery)
            sub.enumeration("receipt_id_format", into: &settings.receiptIDs)
            // An object (possibly empty) turns TLS on: {"ca_file": "/etc/ssl/carrier-ca.pem", "server_name": "smsc.example"}.
            sub.object("tls") { tls in
                tls.allow(["ca_file", "server_name"])
                var caFile: String?
                var serverName: String?
                tls.optionalString("ca_file", into: &caFile)
                tls.optionalString("server_name", into: &serverName)
                settings.tls = .init(caFile: caFile, serverName: serverName)
            }
            _ = index
            connectors.append(settings)
        }
        smppConnectors = connectors
    }
}

extension ServeConfiguration {
    /// Reads `smpp_server`.
    mutating func applySMPPServer(_ reader: inout ConfigReader) {
        reader.object("smpp_server") { sub in
            sub.allow([
                "host", "port", "max_binds_per_account", "window", "submit_window", "idle_timeout_seconds",
                "response_timeout_seconds", "gsm7_packed", "tls", "max_connections", "session_init_seconds",
            ])
            var host = smppServer.host
            sub.optionalString("host", into: &host)
            smppServer.host = host
            sub.int("port", in: 0...65535, into: &smppServer.port)
            sub.int("max_binds_per_account", in: 1...1000, into: &smppServer.maxBindsPerAccount)
            sub.int("window", in: 1...1000, into: &smppServer.window)
            sub.int("submit_window", in: 1...1000, into: &smppServer.submitWindow)
            sub.int("idle_timeout_seconds", in: 5...86_400, into: &smppServer.idleTimeoutSeconds)
            sub.int("response_timeout_seconds", in: 1...300, into: &smppServer.responseTimeoutSeconds)
            sub.int("session_init_seconds", in: 1...3600, into: &smppServer.sessionInitSeconds)
            var maxConnections = smppServer.maxConnections ?? 0
            sub.int("max_connections", in: 1...1_000_000, into: &maxConnections)
            if maxConnections > 0 { smppServer.maxConnections = maxConnections }
            sub.bool("gsm7_packed", into: &smppServer.text.gsm7Packed)
            sub.object("tls") { tls in
                tls.allow(["port", "certificate_file", "key_file"])
                // The port is the TLS listener's (SMSCs commonly use 3550); the files as for http.tls.
                _ = tls.required("port")
                tls.int("port", in: 1...65535, into: &smppServer.tlsPort)
                smppServerTLS = TLSFiles.read(&tls)
            }
        }
    }
}
