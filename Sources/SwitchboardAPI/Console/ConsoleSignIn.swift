import Foundation
import HTTPTypes
import Hummingbird
import SwitchboardCore

/// Sign-up, sign-in, the second factor and its enrolment, sign-out. The password check and the
/// sign-up are the API's own (``AccountRoutes/verifyPassword(email:password:client:)``,
/// ``AccountRoutes/createAccount(_:throttleKeys:)``); second-factor attempts are counted by the
/// same authentication throttle as passwords.
struct ConsoleSignIn {
    let routes: ConsoleRoutes
    var services: HostServices { routes.services }
    var console: ConsoleServices { routes.console }
    var cookies: ConsoleCookies { routes.cookies }
    var accounts: AccountRoutes { AccountRoutes(services: services) }

    func page(_ page: ConsolePage, _ request: Request, _ context: AppContext) -> Response {
        routes.renderer.render(page, session: context.console, path: request.uri.path)
    }

    @Sendable func signInPage(_ request: Request, context: AppContext) async throws -> Response {
        // Only fixed texts: nothing from the address is shown.
        let notice =
            request.uri.queryParameters["after"] == "password"
            ? "Your password is changed and every sign-in with the old one has ended. Sign in with the new password."
            : nil
        return routes.preSessionPage(ConsolePage("sign_in", title: "Sign in", notice: notice), request, context)
    }

    @Sendable func signIn(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.preSessionForm(request)
        let email = form["email"] ?? ""
        let client = services.clientAddresses.clientAddress(of: request, context: context)
        let account: Account
        do {
            guard let password = form.raw("password"), !email.isEmpty, !password.isEmpty else {
                throw Problem.invalid("email", "and password are both needed to sign in")
            }
            account = try await accounts.verifyPassword(email: email, password: password, client: client)
        } catch let problem as Problem {
            let failed = ConsolePage(
                "sign_in", title: "Sign in", data: ["email": email], status: problem.status, errors: [problem.detail])
            var response = routes.preSessionPage(failed, request, context)
            if let wait = problem.retryAfterSeconds { response.headers[.retryAfter] = String(wait) }
            return response
        }
        context.notes.account = account.id
        services.accounts.recordLogin(accountID: account.id, principal: nil, ip: client)
        return try await startSession(for: account.id, request: request, client: client)
    }

    /// Starts the session at the stage the account's factors and this browser call for, and gives a
    /// browser without a device cookie one.
    private func startSession(for accountID: String, request: Request, client: String) async throws -> Response {
        var device = cookies.device(in: request)
        let newDevice = device == nil
        if newDevice { device = "dev_" + Identifier.randomToken(bytes: 24) }
        let deviceHash = device!.sha256Hex
        let country = console.countries.country(of: client)
        let status = try await console.factors.status(accountID: accountID)
        let stage: ConsoleSession.Stage
        if !status.enrolled {
            stage = .enrol
        } else if try await console.factors.needsSecondFactor(
            accountID: accountID, deviceHash: deviceHash, country: country)
        {
            stage = .secondFactor
        } else {
            stage = .active
        }
        let started = try await console.sessions.start(
            accountID: accountID, role: .customer, stage: stage, deviceHash: deviceHash, country: country,
            address: client)
        var response = ConsoleRenderer.redirect(
            stage == .active ? "/console" : stage == .enrol ? "/console/enrol" : "/console/second-factor")
        cookies.setSession(started.token, role: .customer, on: &response)
        if newDevice { cookies.setDevice(device!, on: &response) }
        return response
    }

    @Sendable func signUpPage(_ request: Request, context: AppContext) async throws -> Response {
        routes.preSessionPage(ConsolePage("sign_up", title: "Create your account"), request, context)
    }

    /// Creates the account through `POST /v1/accounts` itself (its fields' rules, its early and
    /// counted sign-up throttle), then signs the new account in; a refusal keeps what was typed.
    @Sendable func signUp(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.preSessionForm(request, allowingBadText: true)
        let values: [String: Any] = [
            "name": ConsoleForm.shown(form["name"] ?? ""), "email": ConsoleForm.shown(form["email"] ?? ""),
            "company": ConsoleForm.shown(form["company"] ?? ""),
        ]
        var body: [String: Any] = [:]
        for field in ["name", "email", "company"] { if let value = form[field] { body[field] = value } }
        if let password = form.raw("password"), !password.isEmpty { body["password"] = password }
        let accountID: String
        do {
            // Text the API would refuse is refused here with what was typed kept on the page.
            try form.requireCleanText()
            let created =
                try await routes.api(context, forwarding: request).call(
                    accounts.signUp, .post, "/v1/accounts", body: body) as? [String: Any] ?? [:]
            guard let id = created["account_id"] as? String else {
                throw Problem(.internalServerError, "Sign-up failed", detail: "The account was not created; try again.")
            }
            accountID = id
        } catch let problem as Problem {
            var failed = ConsolePage("sign_up", title: "Create your account", data: values, status: problem.status)
            failed.errors =
                problem.status == .conflict
                ? ["An account with this email exists: sign in instead."]
                : problem.errors.isEmpty
                    ? [problem.detail] : problem.errors.map { "\(Self.label($0.field)) \($0.message)" }
            var response = routes.preSessionPage(failed, request, context)
            if let wait = problem.retryAfterSeconds { response.headers[.retryAfter] = String(wait) }
            return response
        }
        context.notes.account = accountID
        let client = services.clientAddresses.clientAddress(of: request, context: context)
        return try await startSession(for: accountID, request: request, client: client)
    }

    static func label(_ field: String) -> String {
        switch field {
        case "email": "Email:"
        case "password": "Password:"
        case "name": "Name:"
        case "company": "Company:"
        default: "\(field):"
        }
    }

    // MARK: Second factor

    @Sendable func secondFactorPage(_ request: Request, context: AppContext) async throws -> Response {
        try await secondFactor(request, context, errors: [], status: .ok)
    }

    private func secondFactor(
        _ request: Request, _ context: AppContext, errors: [String], status: HTTPResponse.Status
    ) async throws -> Response {
        let session = context.console!
        let factors = try await console.factors.status(accountID: session.accountID!)
        let sms = factors.smsNumber != nil && console.settings.smsAvailable
        var result = ConsolePage(
            "second_factor", title: "Confirm it is you",
            data: [
                "reason":
                    "This browser or the country you sign in from (\(session.country == CountryLookup.unknown ? "unknown" : session.country)) is new for your account, so we ask for a second factor.",
                "totp": factors.totp, "sms": sms, "smsNumber": Self.masked(factors.smsNumber ?? ""),
                "smsSent": session.challengeExpiresAt != nil,
            ], status: status)
        result.errors = errors
        return page(result, request, context)
    }

    /// `+37255512345` as `+372•••••345`: enough to recognise one's own number.
    static func masked(_ number: String) -> String {
        guard number.count > 7 else { return number }
        return String(number.prefix(4)) + String(repeating: "•", count: number.count - 7) + String(number.suffix(3))
    }

    @Sendable func answerSecondFactor(_ request: Request, context: AppContext) async throws -> Response {
        let session = context.console!
        let accountID = session.accountID!
        let form = try await routes.form(request, context)
        let code = form["code"] ?? ""
        let client = services.clientAddresses.clientAddress(of: request, context: context)
        let passed: Bool
        do {
            passed = try await accounts.attemptSecondFactor(accountID: accountID, client: client) {
                switch form["method"] {
                case "totp": return try await console.factors.verifyTOTP(accountID: accountID, code: code)
                case "recovery": return try await console.factors.useRecoveryCode(accountID: accountID, code: code)
                case "sms":
                    let number = try await console.factors.status(accountID: accountID).smsNumber ?? ""
                    return try await console.sessions.answerChallenge(
                        sessionID: session.id, code: Self.challenge(code, number: number)) == .accepted
                default: return false
                }
            }
        } catch let problem as Problem where problem.status == .tooManyRequests {
            let wait = problem.retryAfterSeconds ?? 1
            var response = try await secondFactor(
                request, context, errors: ["Too many wrong codes: wait \(wait) seconds and try again."],
                status: .tooManyRequests)
            response.headers[.retryAfter] = String(wait)
            return response
        }
        guard passed else {
            return try await secondFactor(
                request, context,
                errors: ["That code is not right (or was already used). Enter the code your app shows now."],
                status: .unauthorized)
        }
        return try await activate(session, request: request)
    }

    /// Ends the second-factor stage: the session goes on under a new token, and this browser and
    /// country are remembered.
    private func activate(_ session: ConsoleSession, request: Request) async throws -> Response {
        guard let token = try await console.sessions.advance(sessionID: session.id, to: .active) else {
            return ConsoleRenderer.redirect("/console/sign-in")
        }
        if let device = session.deviceHash, let accountID = session.accountID {
            try await console.factors.rememberBrowser(
                accountID: accountID, deviceHash: device, country: session.country)
        }
        var response = ConsoleRenderer.redirect("/console")
        cookies.setSession(token, role: session.role, on: &response)
        return response
    }

    /// Sends a sign-in code by SMS through the account named in `console.sms_account`.
    @Sendable func sendSMSCode(_ request: Request, context: AppContext) async throws -> Response {
        let session = context.console!
        _ = try await routes.form(request, context)
        let factors = try await console.factors.status(accountID: session.accountID!)
        guard let number = factors.smsNumber else { return ConsoleRenderer.redirect("/console/second-factor") }
        let client = services.clientAddresses.clientAddress(of: request, context: context)
        if let problem = try await sendCode(to: number, session: session, client: client) {
            return try await secondFactor(request, context, errors: [problem], status: .tooManyRequests)
        }
        return ConsoleRenderer.redirect("/console/second-factor")
    }

    /// Sends a fresh code to `number` and keeps its hash, bound to the number, with the session;
    /// returns what went wrong. Every code sent counts against the authentication throttle, per
    /// client address and per account, and is never given back: each costs an SMS, so a session
    /// cannot be used to send texts to numbers of its choosing at will.
    func sendCode(to number: String, session: ConsoleSession, client: String) async throws -> String? {
        guard let sender = console.settings.smsAccountID, let from = console.settings.smsFrom else {
            return "Codes by SMS are not set up on this server; use your authenticator app or a recovery code."
        }
        let keys = [
            services.clientAddresses.throttleKey(for: client),
            AuthThrottle.Key.account("sign-in-code:\(session.accountID ?? "")"),
        ]
        if case .refused(let wait) = services.authThrottle.reserve(keys) {
            return "Too many codes were sent: wait \(wait) seconds before asking for another."
        }
        let code = SecondFactors.makeSMSCode()
        do {
            _ = try await services.sending.send(
                SendService.Request(
                    accountID: sender, to: number, from: from,
                    body: "\(code) is your Switchboard sign-in code. It expires in 10 minutes. Never share it."))
        } catch let refusal as SendService.Refusal {
            return "The code could not be sent: \(Problem(refusal).detail)"
        }
        try await console.sessions.setChallenge(
            sessionID: session.id, code: Self.challenge(code, number: number), seconds: 600)
        return nil
    }

    /// What is kept of an SMS code: the code with the number it went to, so a code proves that
    /// number and no other.
    static func challenge(_ code: String, number: String) -> String {
        code.filter { !$0.isWhitespace } + "|" + number
    }

    // MARK: Enrolment

    @Sendable func enrolPage(_ request: Request, context: AppContext) async throws -> Response {
        try await enrol(request, context, errors: [], status: .ok, number: nil)
    }

    private func enrol(
        _ request: Request, _ context: AppContext, errors: [String], status: HTTPResponse.Status, number: String?,
        codeSent: Bool = false
    ) async throws -> Response {
        let session = context.console!
        let accountID = session.accountID!
        let email = try await services.accounts.find(id: accountID)?.email ?? accountID
        let totp = try await console.factors.pendingTOTP(accountID: accountID)
        let result = ConsolePage(
            "enrol", title: "Set up a second factor",
            data: [
                "reason": session.stage == .enrol
                    ? "Your account needs a second factor before you can use the console: it is asked when you sign in from a new browser or country."
                    : "Add or replace a second factor.",
                "totpOn": totp == nil, "secret": totp?.base32Secret ?? "",
                "uri": totp?.provisioningURI(issuer: console.settings.issuer, account: email) ?? "",
                "smsAvailable": console.settings.smsAvailable, "number": number ?? "",
                // The code just sent, or one sent earlier that is still pending for this number.
                "smsSent": codeSent || (number != nil && session.challengeExpiresAt != nil),
            ], status: status, errors: errors)
        return page(result, request, context)
    }

    @Sendable func confirmTOTP(_ request: Request, context: AppContext) async throws -> Response {
        let session = context.console!
        let form = try await routes.form(request, context)
        guard let codes = try await console.factors.confirmTOTP(accountID: session.accountID!, code: form["code"] ?? "")
        else {
            return try await enrol(
                request, context,
                errors: ["That code does not match the key: check the app's clock and enter the code it shows now."],
                status: .unprocessableContent, number: nil)
        }
        return try await enrolled(session: session, codes: codes, request: request, context: context)
    }

    @Sendable func startSMSEnrolment(_ request: Request, context: AppContext) async throws -> Response {
        let session = context.console!
        let form = try await routes.form(request, context)
        let number = form["number"] ?? ""
        guard PhoneNumber.isE164(number) else {
            return try await enrol(
                request, context, errors: ["Mobile number: \(PhoneNumber.e164Hint)"], status: .unprocessableContent,
                number: number)
        }
        let client = services.clientAddresses.clientAddress(of: request, context: context)
        if let problem = try await sendCode(to: number, session: session, client: client) {
            return try await enrol(request, context, errors: [problem], status: .tooManyRequests, number: number)
        }
        return try await enrol(request, context, errors: [], status: .ok, number: number, codeSent: true)
    }

    @Sendable func confirmSMS(_ request: Request, context: AppContext) async throws -> Response {
        let session = context.console!
        let form = try await routes.form(request, context)
        let number = form["number"] ?? ""
        guard PhoneNumber.isE164(number),
            try await console.sessions.answerChallenge(
                sessionID: session.id, code: Self.challenge(form["code"] ?? "", number: number)) == .accepted
        else {
            return try await enrol(
                request, context, errors: ["That code is not the one we sent, or it expired: send a new one."],
                status: .unprocessableContent, number: nil)
        }
        let codes = try await console.factors.confirmSMS(accountID: session.accountID!, number: number)
        return try await enrolled(session: session, codes: codes, request: request, context: context)
    }

    /// After a factor is confirmed: the recovery codes when they are new, and the session signed in.
    private func enrolled(session: ConsoleSession, codes: [String], request: Request, context: AppContext)
        async throws -> Response
    {
        var response: Response
        if session.stage == .enrol {
            response = try await activate(session, request: request)
        } else {
            response = ConsoleRenderer.redirect("/console/settings")
        }
        guard !codes.isEmpty, response.status == .seeOther else { return response }
        // Post/Redirect/Get, as every other form: the codes travel once, in memory, to the page that
        // shows them (bound to this session, whose id the activation keeps), so a reload neither
        // posts the code again nor shows the codes twice. The new session cookie rides along.
        let path = "/console/settings/recovery-codes"
        let first = session.stage == .enrol
        let once = routes.flash.put(
            session: session.id, path: path,
            [
                "codes": codes, "next": first ? "/console" : "/console/settings",
                "title": first ? "Your recovery codes" : "Your new recovery codes",
            ])
        response.headers[.location] = "\(path)?once=\(once)"
        return response
    }

    // MARK: Sign-out

    @Sendable func signOut(_ request: Request, context: AppContext) async throws -> Response {
        let session = context.console!
        _ = try await routes.form(request, context, once: false)
        try await console.sessions.end(sessionID: session.id)
        var response = ConsoleRenderer.redirect(
            session.role == .operator ? "/console/admin/sign-in" : "/console/sign-in")
        cookies.clearSession(role: session.role, on: &response)
        return response
    }

    /// Ends every console and API sign-in session of the account, this one included.
    @Sendable func signOutEverywhere(_ request: Request, context: AppContext) async throws -> Response {
        let session = context.console!
        _ = try await routes.form(request, context, once: false)
        try await console.sessions.endAll(accountID: session.accountID!)
        try await services.accounts.endAllSessions(accountID: session.accountID!)
        var response = ConsoleRenderer.redirect("/console/sign-in")
        cookies.clearSession(role: session.role, on: &response)
        return response
    }
}
