import Hummingbird
import SwitchboardAddons
import SwitchboardCore

extension Problem {
    /// The HTTP answer to a refused send: 422 naming the field, or 429 with `Retry-After`.
    init(_ refusal: SendService.Refusal) {
        switch refusal {
        case .invalid(let errors):
            self = .invalid(errors)
        case .rateLimited(let wait, let perSecond):
            self.init(
                .tooManyRequests, "Send rate exceeded",
                detail: "This account may send \(perSecond.formatted()) messages per second; retry after \(wait) s.",
                retryAfterSeconds: wait)
        case .blocked(let addonID, let addonName, let code, let reason):
            self.init(
                .unprocessableContent, "Blocked by \(addonName)",
                detail: "\(reason) (add-on \(addonID), reason code \(code))",
                errors: [FieldError("to", "\(addonName): \(reason)")],
                extra: ["addon_id": addonID, "reason_code": code])
        case .optedOut(let number, let keyword, let since):
            let when = Timestamp.string(since) ?? "earlier"
            self.init(
                .unprocessableContent, "Recipient opted out",
                detail:
                    "to: \(number) replied \(keyword) on \(when) and must not be messaged; it can opt back in by texting START",
                errors: [
                    FieldError(
                        "to", "has opted out (replied \(keyword)); they must text START before you can message them")
                ])
        }
    }
}

extension Problem {
    /// `404 No such add-on` for an id that names no loaded add-on, with the closest one's handle
    /// when it is a likely typo (`reportin` → `reporting`).
    static func noSuchAddon(_ id: String, among manifests: [Manifest]) -> Problem {
        Problem(
            .notFound, "No such add-on",
            detail:
                "\(id) is not an available add-on\(Manifest.suggestion(for: id, in: manifests)); GET /v1/addons lists them"
        )
    }

    /// The HTTP answer to a refused consent change: 404 for an unknown or not enabled add-on, 422
    /// naming the field. `manifests` are the loaded add-ons, for a "did you mean" after a typo.
    init(_ refusal: ConsentService.Refusal, manifests: [Manifest] = []) {
        switch refusal {
        case .unknownAddon(let id):
            self = .noSuchAddon(id, among: manifests)
        case .invalid(let errors):
            self = .invalid(errors)
        case .notEnabled(let name):
            self.init(.notFound, "Not enabled", detail: "\(name) is not enabled for this account; nothing to withdraw")
        }
    }
}
