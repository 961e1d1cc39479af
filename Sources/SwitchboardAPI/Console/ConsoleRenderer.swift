import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import SwitchboardCore

/// One page to render: a template from ``ConsoleTemplates``, its title and the values it shows.
struct ConsolePage {
    var template: String
    var title: String
    var data: [String: Any] = [:]
    var status: HTTPResponse.Status = .ok
    /// Problems with what was submitted, each naming the field and the fix.
    var errors: [String] = []
    /// A one-line confirmation ("Key revoked").
    var notice: String?

    init(
        _ template: String, title: String, data: [String: Any] = [:], status: HTTPResponse.Status = .ok,
        errors: [String] = [], notice: String? = nil
    ) {
        self.template = template
        self.title = title
        self.data = data
        self.status = status
        self.errors = errors
        self.notice = notice
    }
}

/// Renders pages from the Mustache templates (HTML-escaped by default, so nothing a customer typed
/// becomes markup) and adds the headers every console response carries.
struct ConsoleRenderer: Sendable {
    let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        for (name, text) in ConsoleTemplates.all {
            // The templates are part of the binary: one that does not parse is a build mistake.
            try! library.register(text, named: name)
        }
        self.library = library
    }

    /// The sections of the navigation, by role.
    private static let customerNav: [(href: String, label: String)] = [
        ("/console/messages", "Messages"), ("/console/numbers", "Numbers"), ("/console/addons", "Add-ons"),
        ("/console/privacy", "Privacy"), ("/console/usage", "Usage"), ("/console/keys", "API keys"),
        ("/console/settings", "Settings"),
    ]
    private static let operatorNav: [(href: String, label: String)] = [
        ("/console/admin/addons", "Add-ons"), ("/console/admin/audit", "Audit"),
        ("/console/admin/verify", "Verification"), ("/console/admin/accounts", "Accounts"),
    ]

    func render(_ page: ConsolePage, session: ConsoleSession?, path: String) -> Response {
        var values = page.data
        values["title"] = page.title
        values["errors"] = page.errors
        values["hasErrors"] = !page.errors.isEmpty
        values["notice"] = page.notice
        if let session, session.stage == .active {
            let nav = session.role == .operator ? Self.operatorNav : Self.customerNav
            values["nav"] = nav.map { item -> [String: Any] in
                ["href": item.href, "label": item.label, "current": path.hasPrefix(item.href)]
            }
            values["signedIn"] = true
            values["signOutAction"] = session.role == .operator ? "/console/admin/sign-out" : "/console/sign-out"
        }
        if let session {
            // Every render's forms get an id of their own, so each is acted on once.
            values["csrf"] = session.csrfToken + "." + ConsoleSubmissions.makeID()
            // Before the second factor there is no navigation, but signing out works at every stage.
            if session.stage != .active {
                values["pendingSignOut"] = true
                values["signOutAction"] = session.role == .operator ? "/console/admin/sign-out" : "/console/sign-out"
            }
        }
        let html =
            library.render(Self.clean(values), withTemplate: page.template) ?? "template \(page.template) is missing"
        var response = Response(
            status: page.status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
        Self.secure(&response)
        return response
    }

    /// Drops JSON nulls and empty strings from objects, at every depth: Mustache renders a section
    /// for any value that is present, and a template's `{{#revoked_at}}` must mean "there is one".
    static func clean(_ value: Any) -> Any {
        switch value {
        case let object as [String: Any]:
            var kept: [String: Any] = [:]
            for (key, member) in object {
                if member is NSNull { continue }
                if let text = member as? String {
                    if text.isEmpty { continue }
                    kept[key] = readable(text)
                    continue
                }
                kept[key] = clean(member)
            }
            return kept
        case let list as [Any]:
            return list.map(clean)
        case let text as String:
            return readable(text)
        default:
            return value
        }
    }

    /// An API timestamp (`2026-11-30T22:01:04.602Z`, RFC 3339 in UTC) as people read one
    /// (`2026-11-30 22:01:04 UTC`); any other text as it is.
    static func readable(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 30, bytes.last == UInt8(ascii: "Z"), bytes[10] == UInt8(ascii: "T"),
            bytes[4] == UInt8(ascii: "-"), bytes[13] == UInt8(ascii: ":"),
            bytes[0..<4].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return text }
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8)) + " UTC"
    }

    /// 303 See Other to a console path (after a form, so a reload does not post it again).
    static func redirect(_ location: String) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location])
        secure(&response)
        return response
    }

    /// A Content-Security-Policy without any script, inline or not (the console has none), no
    /// framing, forms only to this origin; no caching of pages with account data; no referrer.
    static func secure(_ response: inout Response) {
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with a
        // form post (Fetch standard), and the sign-in forms check that header.
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
    }

    /// The stylesheet, cacheable for a day.
    static func stylesheet() -> Response {
        var response = Response(
            status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.stylesheet)))
        secure(&response)
        response.headers[.cacheControl] = "public, max-age=86400"
        return response
    }
}
