import Foundation
import Hummingbird

/// The console's two cookies: the session (until the browser closes, ended by the server's idle and
/// absolute expiry) and the device cookie that lets a browser be recognised as one that passed a
/// second factor (400 days, the longest browsers keep a cookie, RFC 6265bis section 4.1.2.1). Both
/// are HttpOnly and SameSite=Strict, so no script reads them and no other site's page sends them.
struct ConsoleCookies {
    let secure: Bool

    /// `__Host-` binds a cookie to this host and path `/` and needs `Secure` (RFC 6265bis
    /// section 4.1.3.2); without TLS the plain name is used.
    var sessionName: String { secure ? "__Host-sb_console" : "sb_console" }
    var deviceName: String { secure ? "__Host-sb_device" : "sb_device" }

    func session(in request: Request) -> String? { request.cookies[sessionName]?.value }
    func device(in request: Request) -> String? {
        guard let value = request.cookies[deviceName]?.value, value.hasPrefix("dev_"), value.count <= 64 else {
            return nil
        }
        return value
    }

    func setSession(_ token: String, on response: inout Response) {
        response.setCookie(
            Cookie(name: sessionName, value: token, path: "/", secure: secure, httpOnly: true, sameSite: .strict))
    }

    func clearSession(on response: inout Response) {
        response.setCookie(
            Cookie(
                name: sessionName, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict))
    }

    func setDevice(_ token: String, on response: inout Response) {
        response.setCookie(
            Cookie(
                name: deviceName, value: token, maxAge: 400 * 86_400, path: "/", secure: secure, httpOnly: true,
                sameSite: .strict))
    }
}
