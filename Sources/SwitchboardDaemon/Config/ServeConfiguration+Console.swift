import Foundation
import SwitchboardAPI
import SwitchboardCore

extension ServeConfiguration {
    /// The web console (`console` in the configuration; `docs/console.md`).
    public struct Console: Sendable, Equatable {
        /// Serve `/console` (default on).
        public var enabled = true
        /// Minutes without a request after which a console session ends (default 30).
        public var idleMinutes = 30
        /// Hours after sign-in after which a console session ends however busy (default 12).
        public var absoluteHours = 12
        /// A CSV of address ranges and countries (`network,CC` or `first,last,CC`) for the rule that a
        /// sign-in from a new country asks a second factor; without it every address is `--`.
        public var countriesFile: String?
        /// `Secure` cookies; nil means on exactly when `http.tls` is set. Set true behind a TLS proxy.
        public var secureCookies: Bool?
        /// The account whose messaging sends SMS sign-in codes, and its sender id; both or neither.
        public var smsAccount: String?
        public var smsFrom: String?
        /// Shares read per query while the operator's audit download streams the whole answer:
        /// 1 to 10,000 (the API's largest page), default 10,000.
        public var auditDownloadPage = 10_000
        public init() {}
    }

    /// Reads `console`.
    mutating func applyConsole(_ reader: inout ConfigReader) {
        reader.object("console") { sub in
            sub.allow([
                "enabled", "idle_minutes", "absolute_hours", "countries_file", "secure_cookies", "sms_account",
                "sms_from", "audit_download_page",
            ])
            sub.bool("enabled", into: &console.enabled)
            sub.int("idle_minutes", in: 1...1440, into: &console.idleMinutes)
            sub.int("absolute_hours", in: 1...720, into: &console.absoluteHours)
            sub.optionalString("countries_file", into: &console.countriesFile)
            var secure = console.secureCookies ?? false
            let given = sub.has("secure_cookies")
            sub.bool("secure_cookies", into: &secure)
            if given { console.secureCookies = secure }
            sub.optionalString("sms_account", into: &console.smsAccount)
            sub.optionalString("sms_from", into: &console.smsFrom)
            sub.int("audit_download_page", in: 1...10_000, into: &console.auditDownloadPage)
            if (console.smsAccount == nil) != (console.smsFrom == nil) {
                sub.record(
                    console.smsAccount == nil ? "sms_account" : "sms_from",
                    "sms_account and sms_from go together: the account that sends sign-in codes and its sender id")
            }
            if console.absoluteHours * 60 < console.idleMinutes {
                sub.record("idle_minutes", "must not be longer than absolute_hours")
            }
        }
    }
}
