import SwitchboardAddons
import SwitchboardCore

/// What the console needs beyond the API's services: its sign-in sessions, the second factors, the
/// country of an address, and its settings (`console` in the configuration, `docs/console.md`).
package struct ConsoleServices: Sendable {
    package let sessions: ConsoleSessions
    package let factors: SecondFactors
    package let countries: CountryLookup
    package let settings: ConsoleSettings
    /// `audit verify` as the daemon runs it (its signing keys live in the data directory).
    package let verifyLedger: @Sendable () async throws -> LedgerVerifier.Outcome
    /// The forms already sent, each acted on once.
    package let submissions = ConsoleSubmissions()

    package init(
        sessions: ConsoleSessions, factors: SecondFactors, countries: CountryLookup, settings: ConsoleSettings,
        verifyLedger: @escaping @Sendable () async throws -> LedgerVerifier.Outcome
    ) {
        self.sessions = sessions
        self.factors = factors
        self.countries = countries
        self.settings = settings
        self.verifyLedger = verifyLedger
    }
}

/// The console's settings.
package struct ConsoleSettings: Sendable {
    /// Cookies carry `Secure` (and the `__Host-` name prefix, RFC 6265bis section 4.1.3.2): on when
    /// the daemon serves HTTPS or sits behind a TLS proxy (`console.secure_cookies`).
    package var secureCookies: Bool
    /// The account whose messaging sends SMS sign-in codes, and the sender id it uses; without both,
    /// SMS is not offered as a second factor and TOTP is the only one.
    package var smsAccountID: String?
    package var smsFrom: String?
    /// Shown in authenticator apps beside the account's email.
    package var issuer: String
    /// Shares read per query while an audit download streams the whole answer
    /// (`console.audit_download_page`): what one query holds in memory.
    package var auditDownloadPage: Int

    package init(
        secureCookies: Bool = false, smsAccountID: String? = nil, smsFrom: String? = nil,
        issuer: String = "Switchboard",
        auditDownloadPage: Int = 10_000
    ) {
        self.secureCookies = secureCookies
        self.smsAccountID = smsAccountID
        self.smsFrom = smsFrom
        self.issuer = issuer
        self.auditDownloadPage = auditDownloadPage
    }

    /// Whether SMS codes can be sent.
    package var smsAvailable: Bool { smsAccountID != nil && smsFrom != nil }
}
