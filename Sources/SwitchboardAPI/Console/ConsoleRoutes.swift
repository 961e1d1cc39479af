import Foundation
import HTTPTypes
import Hummingbird
import SwitchboardCore

/// The web console (`/console` for customers, `/console/admin` for the operator): server-rendered
/// pages over the same handlers and services as the API (`docs/console.md`).
struct ConsoleRoutes: Sendable {
    let services: HostServices
    let console: ConsoleServices
    let operatorToken: String
    let renderer = ConsoleRenderer()
    /// What a form's answer shows once across its redirect.
    let flash = ConsoleFlash()
    var cookies: ConsoleCookies { ConsoleCookies(secure: console.settings.secureCookies) }
    var formTokens: ConsoleFormTokens { ConsoleFormTokens(operatorToken: operatorToken) }

    func add(to router: Router<AppContext>) {
        // Around the whole router: a method a console address does not serve (GET of a form's
        // action, PUT, HEAD…) is refused before any group's middleware runs; it gets the
        // console's "Not found" page and headers, not an empty answer.
        router.add(middleware: ConsoleErrorMiddleware(renderer: renderer, onlyUnder: "/console"))
        router.get("console/style.css") { _, _ in ConsoleRenderer.stylesheet() }
        let open = router.group("console").add(middleware: ConsoleErrorMiddleware(renderer: renderer))
        let signIn = ConsoleSignIn(routes: self)
        open.get("sign-in", use: signIn.signInPage)
        open.post("sign-in", use: signIn.signIn)
        open.get("sign-up", use: signIn.signUpPage)
        open.post("sign-up", use: signIn.signUp)

        let pending = open.group("")
            .add(middleware: ConsoleSessionMiddleware(console: console, role: .customer, stages: [.secondFactor]))
        pending.get("second-factor", use: signIn.secondFactorPage)
        pending.post("second-factor", use: signIn.answerSecondFactor)
        pending.post("second-factor/sms", use: signIn.sendSMSCode)

        let enrolling = open.group("")
            .add(middleware: ConsoleSessionMiddleware(console: console, role: .customer, stages: [.enrol, .active]))
        enrolling.get("enrol", use: signIn.enrolPage)
        enrolling.post("enrol/totp", use: signIn.confirmTOTP)
        enrolling.post("enrol/sms", use: signIn.startSMSEnrolment)
        enrolling.post("enrol/sms/confirm", use: signIn.confirmSMS)
        // Signing out works at every stage, also while a second factor is still due.
        open.group("")
            .add(
                middleware: ConsoleSessionMiddleware(
                    console: console, role: .customer, stages: [.secondFactor, .enrol, .active])
            )
            .post("sign-out", use: signIn.signOut)

        let customer = open.group("")
            .add(middleware: ConsoleSessionMiddleware(console: console, role: .customer, stages: [.active]))
        customer.get("", use: { _, _ in ConsoleRenderer.redirect("/console/messages") })
        customer.post("sign-out-everywhere", use: signIn.signOutEverywhere)
        ConsoleCustomerPages(routes: self).add(to: customer)
        ConsoleAddonPages(routes: self).add(to: customer)

        ConsoleOperatorPages(routes: self).add(to: open)
        // Any other address under /console is a page that does not exist, answered as one, with
        // the console's headers.
        open.get("**") { _, _ -> Response in
            throw Problem(
                .notFound, "Page not found",
                detail: "This page does not exist. Start again from the console's home page, /console.")
        }
    }

    /// Renders a page for this request's session.
    func page(_ page: ConsolePage, _ request: Request, _ context: AppContext) -> Response {
        renderer.render(page, session: context.console, path: request.uri.path)
    }

    /// Reads a form posted by a signed-in page and checks its CSRF token, and its text unless
    /// `allowingBadText` (the handler then calls ``ConsoleForm/requireCleanText()`` itself, to
    /// show a refusal beside what was typed).
    /// A form is acted on once: sent again (a double click, the back button) it is refused
    /// `409 Form already sent` (``ConsoleSubmissions``), unless its first sending failed. `once`
    /// false: an action that may be repeated without harm and must work from any page, however old
    /// (signing out).
    func form(
        _ request: Request, _ context: AppContext, allowingBadText: Bool = false, once: Bool = true
    ) async throws -> ConsoleForm {
        let form = try await ConsoleForm.read(request, limit: services.settings.body)
        let formID = try form.requireToken(context.console?.csrfToken ?? "")
        try form.requireSingleValues()
        if !allowingBadText { try form.requireCleanText() }
        if once, let formID, let session = context.console {
            // Per session: another session's use of an id never spends this one's form.
            let key = session.id + ":" + formID
            guard console.submissions.begin(key) else { throw Self.alreadySent }
            context.notes.formID = key
        }
        return form
    }

    static let alreadySent = Problem(
        .conflict, "Form already sent",
        detail:
            "This form was sent before, and what it asked for was done once, not again. Reload the page to see the result; to do it once more, send the form from the reloaded page."
    )

    /// A page whose form is sent before there is a session (sign-in, sign-up, the operator's
    /// sign-in). The form carries this browser's form token, which a cookie keeps (set here when the
    /// browser has none yet): a page elsewhere can neither read the cookie nor guess the token, so it
    /// cannot sign a visitor in to an account of its choosing (login CSRF). The token is signed
    /// (``ConsoleFormTokens``), so one planted in the cookie is not taken.
    func preSessionPage(_ page: ConsolePage, _ request: Request, _ context: AppContext) -> Response {
        let existing = signedFormToken(in: request)
        let token = existing ?? formTokens.make()
        var page = page
        page.data["formToken"] = token
        var response = self.page(page, request, context)
        if existing == nil { cookies.setFormToken(token, on: &response) }
        return response
    }

    /// Reads a form sent before there is a session and checks where it came from and its form token.
    /// - Throws: `Problem` 403 "Cross-site form" or "Form expired" (a form without this browser's
    ///   token: sent from elsewhere, or from a page shown before the browser was closed).
    func preSessionForm(_ request: Request, allowingBadText: Bool = false) async throws -> ConsoleForm {
        try requireSameOrigin(request)
        let form = try await ConsoleForm.read(request, limit: services.settings.body)
        try form.requireToken(signedFormToken(in: request) ?? "")
        try form.requireSingleValues()
        if !allowingBadText { try form.requireCleanText() }
        return form
    }

    /// This browser's form token when the daemon signed it; nil when absent or planted.
    private func signedFormToken(in request: Request) -> String? {
        cookies.formToken(in: request).flatMap { formTokens.isValid($0) ? $0 : nil }
    }

    /// Refuses a form posted from another origin where there is no session yet (sign-in, sign-up):
    /// browsers send `Origin` with every POST (Fetch standard). A second line of defence beside the
    /// form token.
    func requireSameOrigin(_ request: Request) throws {
        // A browser that says where the form came from (Fetch Metadata) is believed first.
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            guard site == "same-origin" || site == "none" else { throw Self.crossSite }
            return
        }
        guard let origin = request.headers[.origin] else { return }
        let host = request.head.authority ?? ""
        guard let parsed = URL(string: origin), let originHost = parsed.host else { throw Self.crossSite }
        let originAuthority = parsed.port.map { "\(originHost):\($0)" } ?? originHost
        guard originAuthority == host else { throw Self.crossSite }
    }

    private static let crossSite = Problem(
        .forbidden, "Cross-site form", detail: "This form must be sent from the console's own page.")

    /// The API bridge for this request's account; with `request`, the API also sees the client
    /// address the console saw (its `X-Forwarded-For`, honoured from trusted proxies only).
    func api(_ context: AppContext, forwarding request: Request? = nil) -> ConsoleAPI {
        ConsoleAPI(context: context, forwardedFor: request?.headers[values: ConsoleAPI.forwardedFor] ?? [])
    }
}
