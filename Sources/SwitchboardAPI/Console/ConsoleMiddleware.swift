import Foundation
import Hummingbird
import SwitchboardCore

/// Lets a console request through only with a live session of `role` at one of `stages`, and
/// sends the browser where it belongs otherwise: to sign in without a session, to the second factor
/// or the enrolment while one is due. A form (any POST) must carry the session's CSRF token; that
/// is checked where the form is read (``ConsoleForm/requireToken(_:)``).
struct ConsoleSessionMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let console: ConsoleServices
    let role: ConsoleSession.Role
    let stages: Set<ConsoleSession.Stage>
    /// For operator sessions: the SHA-256 of the operator token they signed in with must be the
    /// current token's, so changing the token ends every operator session at once.
    var operatorTokenHash: String? = nil

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        let cookies = ConsoleCookies(secure: console.settings.secureCookies)
        let signIn = role == .operator ? "/console/admin/sign-in" : "/console/sign-in"
        guard let token = cookies.session(in: request, role: role),
            let session = try await console.sessions.authenticate(token: token), session.role == role,
            role != .operator || (operatorTokenHash != nil && session.deviceHash == operatorTokenHash)
        else {
            var response = ConsoleRenderer.redirect(signIn)
            // A stale cookie is dropped on a page load. Not on a form: a second click on "Verify"
            // carries the token the first click's answer just replaced, and clearing the cookie
            // then would sign the person out of the session the first click opened.
            if request.method != .post, cookies.session(in: request, role: role) != nil {
                cookies.clearSession(role: role, on: &response)
            }
            return response
        }
        guard stages.contains(session.stage) else {
            switch session.stage {
            case .secondFactor: return ConsoleRenderer.redirect("/console/second-factor")
            case .enrol: return ConsoleRenderer.redirect("/console/enrol")
            case .active: return ConsoleRenderer.redirect(role == .operator ? "/console/admin" : "/console")
            }
        }
        var context = context
        context.console = session
        if let accountID = session.accountID {
            context.principal = Principal(accountID: accountID, keyID: session.id, credential: .console)
            context.notes.account = accountID
        }
        // A form whose action failed may be corrected and sent again from the same page.
        do {
            let response = try await next(request, context)
            if response.status.code >= 400, let formID = context.notes.formID { console.submissions.forget(formID) }
            return response
        } catch {
            if let formID = context.notes.formID { console.submissions.forget(formID) }
            throw error
        }
    }
}

/// Turns an error inside the console into a page a person can act on (the API's ``Problem`` with its
/// title and detail; anything else as a 500 that tells nothing of the inside).
struct ConsoleErrorMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let renderer: ConsoleRenderer
    /// Only requests whose path starts with this are answered with pages; others pass untouched.
    var onlyUnder: String = ""

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        guard request.uri.path.hasPrefix(onlyUnder) else { return try await next(request, context) }
        do {
            // Storage faults and anything unforeseen become the API's problems first (a 503 with
            // Retry-After for a full disk, a 500 that tells nothing of the inside), then pages with
            // the console's headers, not the API's JSON.
            return try await StorageErrorMiddleware().handle(request, context: context, next: next)
        } catch let problem as Problem {
            // The field errors say what the detail says, one by one: show them alone.
            var page = ConsolePage(
                "error", title: problem.title,
                data: ["detail": problem.errors.isEmpty ? problem.detail : "", "back": Self.back(request)],
                status: problem.status)
            page.errors = problem.errors.map { "\($0.field): \($0.message)" }
            var response = renderer.render(page, session: context.console, path: request.uri.path)
            if let wait = problem.retryAfterSeconds { response.headers[.retryAfter] = String(wait) }
            return response
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            return renderer.render(
                ConsolePage(
                    "error", title: "Not found",
                    data: ["detail": "There is no such page or it belongs to another account.", "back": "/console"],
                    status: error.status), session: context.console, path: request.uri.path)
        } catch let error as HTTPError {
            // Hummingbird's own refusals (a body over the limit…), with its message when it has one.
            return renderer.render(
                ConsolePage(
                    "error", title: error.status.reasonPhrase,
                    data: ["detail": error.body ?? "The request could not be served.", "back": Self.back(request)],
                    status: error.status), session: context.console, path: request.uri.path)
        }
    }

    /// Where "Go back" leads: the console page a form was posted from (its `Referer`, which the
    /// console's `Referrer-Policy: same-origin` keeps to this site; only its path and query are
    /// used), the console's start otherwise (a page that failed to show would fail again, and a
    /// form's action address answers only POST).
    static func back(_ request: Request) -> String {
        let start = request.uri.path.hasPrefix("/console/admin") ? "/console/admin" : "/console"
        guard request.method == .post, let referer = request.headers[.referer],
            let from = URLComponents(string: referer), from.path.hasPrefix(start)
        else { return start }
        return from.path + (from.percentEncodedQuery.map { "?" + $0 } ?? "")
    }
}
