import Foundation
import Hummingbird
import SwitchboardCore
import Synchronization

/// What a console form's answer shows once, carried across its redirect (Post/Redirect/Get): a
/// form that created something answers `303 See Other` to a page that reads this once, so that
/// reloading the page creates nothing more (a second API key, another rotation of the webhook
/// secret, new recovery codes) and a secret shown "only once" is shown once.
///
/// Held in memory for ``lifetime``, only for the console session that made it and the page it
/// leads to; a token is random (128 bits) and taken at its first read on that page. A restart in
/// between loses it: the page then says the secret was shown once, and the thing itself exists.
package final class ConsoleFlash: Sendable {
    private struct Entry {
        var session: String
        var path: String
        var payload: Data
        var expires: ContinuousClock.Instant
    }

    /// How long an unread entry is kept (a redirect is followed in milliseconds).
    package static let lifetime: Duration = .seconds(300)
    /// At most this many unread entries; the oldest go first.
    package static let capacity = 10_000

    private let entries = Mutex<[String: Entry]>([:])

    package init() {}

    /// Keeps `object` (JSON values only) for `session` on the page at `path`; returns the token for
    /// the redirect's query.
    package func put(session: String, path: String, _ object: [String: Any]) -> String {
        let token = Identifier.randomToken(bytes: 16)
        let payload = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
        let now = ContinuousClock.now
        entries.withLock { entries in
            entries = entries.filter { $0.value.expires > now }
            if entries.count >= Self.capacity, let oldest = entries.min(by: { $0.value.expires < $1.value.expires }) {
                entries[oldest.key] = nil
            }
            entries[token] = Entry(session: session, path: path, payload: payload, expires: now + Self.lifetime)
        }
        return token
    }

    /// The object kept under `token` for `session` on the page at `path`, once; nil when unknown,
    /// expired, already read, or made for another session or page (which leaves it unread).
    package func take(_ token: String?, session: String, path: String) -> [String: Any]? {
        guard let token, !token.isEmpty else { return nil }
        let entry: Entry? = entries.withLock { entries in
            guard let entry = entries[token], entry.session == session, entry.path == path else { return nil }
            entries[token] = nil
            return entry
        }
        guard let entry, entry.expires > ContinuousClock.now else { return nil }
        return try? JSONSerialization.jsonObject(with: entry.payload) as? [String: Any]
    }
}

extension ConsoleRoutes {
    /// The answer to a form that changed something: `303 See Other` to `path`, which shows `object`
    /// once (``ConsoleFlash``), so that reloading it sends nothing again.
    func redirect(_ path: String, _ context: AppContext, showing object: [String: Any]) -> Response {
        guard let session = context.console?.id else { return ConsoleRenderer.redirect(path) }
        return ConsoleRenderer.redirect("\(path)?once=\(flash.put(session: session, path: path, object))")
    }

    /// The notice the form before this redirect left for this page, once.
    func onceNotice(_ request: Request, _ context: AppContext) -> String? {
        once(request, context)?["notice"] as? String
    }

    /// What the form before this redirect left to show, once (nil after the first read).
    func once(_ request: Request, _ context: AppContext) -> [String: Any]? {
        guard let session = context.console?.id else { return nil }
        return flash.take(
            request.uri.queryParameters["once"].map(String.init), session: session, path: request.uri.path)
    }
}
