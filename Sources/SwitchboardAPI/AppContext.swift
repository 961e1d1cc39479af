import Hummingbird
import NIOCore
import SwitchboardAddons
import SwitchboardCore
import Synchronization

/// Facts about a request that inner middleware learns and outer middleware (the activity log) needs.
public final class RequestNotes: Sendable {
    private let accountID = Mutex<String?>(nil)
    private let consoleFormID = Mutex<String?>(nil)
    public init() {}
    public var account: String? {
        get { accountID.withLock { $0 } }
        set { accountID.withLock { $0 = newValue } }
    }
    /// The console form this request sent (``ConsoleSubmissions``), forgotten again when it fails.
    public var formID: String? {
        get { consoleFormID.withLock { $0 } }
        set { consoleFormID.withLock { $0 = newValue } }
    }
}

/// The request context of every route: who is calling and from where.
public struct AppContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: String?
    public var principal: Principal?
    /// The web console's sign-in, on console pages.
    public var console: ConsoleSession?
    public let notes = RequestNotes()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Who acted, as consent records and erasure requests keep it: `api:<key or session id>`, or
    /// `console:<console session id>` for the web console.
    public var actor: String {
        guard let principal else { return "api:?" }
        return principal.credential == .console ? "console:\(principal.keyID)" : "api:\(principal.keyID)"
    }

    /// The authenticated account; routes behind the auth middleware can rely on it.
    public func accountID() throws -> String {
        guard let principal else { throw Problem.unauthorized }
        return principal.accountID
    }
}
