import Foundation
import Hummingbird
import SwitchboardCore

/// The console's cookies: a customer's session (`sb_console`) and an operator's (`sb_operator`),
/// each under its own name so one browser can hold both, both kept until the browser closes and
/// ended on the server by idle and absolute expiry; and the device cookie that lets a browser be
/// recognised as one that passed a second factor (400 days, the longest browsers keep a cookie,
/// RFC 6265bis section 4.1.2.1). All are HttpOnly and SameSite=Strict, so no script reads them and
/// no other site's page sends them.
struct ConsoleCookies {
    let secure: Bool

    /// `__Host-` binds a cookie to this host and path `/` and needs `Secure` (RFC 6265bis
    /// section 4.1.3.2); without TLS the plain name is used.
    func sessionName(_ role: ConsoleSession.Role) -> String {
        let name = role == .operator ? "sb_operator" : "sb_console"
        return secure ? "__Host-" + name : name
    }
    var deviceName: String { secure ? "__Host-sb_device" : "sb_device" }
    /// The form token of a browser that has no session yet (sign-in, sign-up): kept until the
    /// browser closes, sent back in the form's `csrf` field (``ConsoleRoutes/preSessionForm(_:)``).
    var formName: String { secure ? "__Host-sb_form" : "sb_form" }

    func session(in request: Request, role: ConsoleSession.Role) -> String? {
        request.cookies[sessionName(role)]?.value
    }
    func device(in request: Request) -> String? {
        guard let value = request.cookies[deviceName]?.value, value.hasPrefix("dev_"), value.count <= 64 else {
            return nil
        }
        return value
    }

    /// The form token cookie as sent; ``ConsoleFormTokens/isValid(_:)`` judges it.
    func formToken(in request: Request) -> String? { request.cookies[formName]?.value }

    func setFormToken(_ token: String, on response: inout Response) {
        response.setCookie(
            Cookie(name: formName, value: token, path: "/", secure: secure, httpOnly: true, sameSite: .strict))
    }

    func setSession(_ token: String, role: ConsoleSession.Role, on response: inout Response) {
        response.setCookie(
            Cookie(name: sessionName(role), value: token, path: "/", secure: secure, httpOnly: true, sameSite: .strict))
    }

    func clearSession(role: ConsoleSession.Role, on response: inout Response) {
        response.setCookie(
            Cookie(
                name: sessionName(role), value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true,
                sameSite: .strict))
    }

    func setDevice(_ token: String, on response: inout Response) {
        response.setCookie(
            Cookie(
                name: deviceName, value: token, maxAge: 400 * 86_400, path: "/", secure: secure, httpOnly: true,
                sameSite: .strict))
    }
}
