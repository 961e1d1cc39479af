import Foundation

/// The send use case: every rule a new outbound message passes before it is accepted, in the order
/// they apply (fields, the sender number's owner, send rate, opt-out, the add-ons' pre-send check,
/// storage with the opt-out and the sender number checked again, hand-off to the carrier). The HTTP
/// API and any other front door call it, so no rule is written twice.
public struct SendService: Sendable {
    /// The longest body accepted, in characters (ten GSM-7 concatenated segments' worth).
    public static let maxBodyCharacters = 1600

    /// A message a customer asks to send.
    public struct Request: Sendable {
        public var accountID: String
        /// E.164 recipient, e.g. `+37255512345`.
        public var to: String
        /// One of the account's numbers (E.164, claimed with `AccountStore.claimNumber`) or an
        /// alphanumeric sender id of 1 to 11 characters.
        public var from: String
        public var body: String
        /// Absolute http(s) URL to post status changes to.
        public var statusCallback: String?
        public var statusCallbackEvents: CallbackEvents
        /// The `registered_delivery` of a `submit_sm` (SMPP front door): whether a receipt goes back
        /// to the account's receiver binds.
        public var smppRegisteredDelivery: UInt8?
        /// Set by a front door that already ran `problems(to:from:body:statusCallback:)` on these
        /// fields (to name every bad field in one answer), so the rules do not run twice per send.
        package var fieldsChecked = false

        public init(
            accountID: String, to: String, from: String, body: String, statusCallback: String? = nil,
            statusCallbackEvents: CallbackEvents = .all
        ) {
            self.accountID = accountID
            self.to = to
            self.from = from
            self.body = body
            self.statusCallback = statusCallback
            self.statusCallbackEvents = statusCallbackEvents
        }
    }

    /// Why a message was not accepted; each case carries what the caller needs to say how to fix it.
    public enum Refusal: Error, Sendable, Equatable {
        /// Fields break the rules; each error names the field and the fix.
        case invalid([FieldError])
        /// The account's send rate is exceeded; retry after the given seconds.
        case rateLimited(retryAfterSeconds: Int, perSecond: Double)
        /// An add-on's pre-send check blocked the message.
        case blocked(addonID: String, addonName: String, code: String, reason: String)
        /// The recipient replied a STOP keyword (`keyword`) at `since` (ms since 1970).
        case optedOut(number: String, keyword: String, since: Int64)
    }

    let messages: MessageStore
    let pipeline: DeliveryPipeline
    let limiter: SendRateLimiter
    let check: any PreSendCheck
    let clock: any WallClock
    /// Where `status_callback` may point (`callbacks.allow_targets`); public addresses only by default.
    let callbackTargets: CallbackTargetPolicy

    public init(
        messages: MessageStore, pipeline: DeliveryPipeline, limiter: SendRateLimiter, check: any PreSendCheck,
        clock: any WallClock, callbackTargets: CallbackTargetPolicy = CallbackTargetPolicy()
    ) {
        self.messages = messages
        self.pipeline = pipeline
        self.limiter = limiter
        self.check = check
        self.clock = clock
        self.callbackTargets = callbackTargets
    }

    /// The rule breaks in a message's fields, each naming the field and the fix; empty when valid.
    /// A nil field is one the caller already reported (missing or of the wrong type).
    public static func problems(
        to: String?, from: String?, body: String?, statusCallback: String?
    ) -> [FieldError] {
        var problems: [FieldError] = []
        if let to, !PhoneNumber.isE164(to) { problems.append(FieldError("to", PhoneNumber.e164Hint)) }
        if let from, !PhoneNumber.isE164(from), !PhoneNumber.isAlphanumericSender(from) {
            problems.append(FieldError("from", PhoneNumber.senderProblem(from)))
        }
        if let body, body.isEmpty || body.lengthInCodePoints > maxBodyCharacters {
            problems.append(FieldError("body", "must be 1 to \(maxBodyCharacters) characters"))
        } else if let body, body.isBlank {
            problems.append(
                FieldError("body", TextRule.blankMessage))
        }
        if let statusCallback, let problem = callbackURLProblem(statusCallback, example: "status") {
            problems.append(FieldError("status_callback", problem))
        }
        return problems
    }

    /// The 422 field error for a `status_callback` whose host callbacks may not reach.
    static func callbackTargetProblem(_ refusal: CallbackTargetPolicy.Refusal) -> FieldError {
        FieldError(
            "status_callback",
            "must point at a public address, but \(refusal); use your receiver's public https URL, or ask the operator to allow the target in callbacks.allow_targets"
        )
    }

    /// The 422 field error for an `http://` callback or webhook URL while the operator allows https only.
    static func plainHTTPProblem(_ field: String) -> FieldError {
        FieldError(
            field,
            "must be an https URL: callbacks carry message data and are sent encrypted, with the receiver's certificate verified; http is accepted only where the operator sets callbacks.allow_http"
        )
    }

    /// What is wrong with `url` as an inbound webhook (field `inbound_webhook`), or nil: the same
    /// rules as `status_callback` (an absolute http or https URL the callback policy lets callbacks reach).
    package func inboundWebhookProblem(_ url: String) -> FieldError? {
        if let problem = Self.callbackURLProblem(url, example: "inbound") {
            return FieldError("inbound_webhook", problem)
        }
        if callbackTargets.schemeRefusal(forURL: url) != nil { return Self.plainHTTPProblem("inbound_webhook") }
        if let refusal = callbackTargets.refusal(forURL: url) {
            return FieldError(
                "inbound_webhook",
                "must point at a public address, but \(refusal); use your receiver's public https URL, or ask the operator to allow the target in callbacks.allow_targets"
            )
        }
        return nil
    }

    /// Why `text` is not a URL callbacks can be sent to, or nil: an absolute http or https URL
    /// (RFC 3986) with a host, a port from 1 to 65535 (RFC 6335) when it has one, and no character
    /// a URL must percent-encode (a space would be sent as the receiver never wrote it, or not at
    /// all). `example` is the last path segment of the example given.
    static func callbackURLProblem(_ text: String, example: String) -> String? {
        let rule = "must be an absolute http or https URL, e.g. https://example.com/sms/\(example)"
        if let odd = text.unicodeScalars.first(where: {
            $0.properties.isWhitespace || $0.properties.generalCategory == .control
        }) {
            let name = odd == " " ? "a space" : "U+\(String(odd.value, radix: 16, uppercase: true))"
            return "\(rule); it holds \(name), which a URL carries percent-encoded (a space as %20)"
        }
        // A port no TCP connection can use (RFC 6335: 1 to 65535) would fail every attempt. Read
        // from the text: a port too long for an integer is no port, but URL may read none.
        if let port = Self.statedPort(text), Int(port).map({ (1...65535).contains($0) }) != true {
            return "\(rule); its port \(port) is not one: ports are 1 to 65535"
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return rule }
        // RFC 9110 §4.2.4: no user name or password in an http(s) URL. Kept, it would be stored and
        // shown wherever the URL is (message views, the console, logs).
        if url.user != nil || url.password != nil {
            return
                "\(rule); it holds a user name or password (user:pass@), which a URL must not carry: verify each request by its Switchboard-Signature header instead"
        }
        return nil
    }

    /// The digits after the host's colon in `scheme://host:port/…`, when there are any.
    private static func statedPort(_ text: String) -> String? {
        guard let start = text.range(of: "://")?.upperBound else { return nil }
        let authority = text[start...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") else { return nil }
        let digits = authority[authority.index(after: colon)...]
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) ? String(digits) : nil
    }

    /// Accepts the message: stored as `queued` and handed to the carrier pipeline.
    /// - Throws: `Refusal` when a rule refuses it (nothing is stored), or a storage error.
    public func send(_ request: Request) async throws -> Message {
        if !request.fieldsChecked {
            let problems = Self.problems(
                to: request.to, from: request.from, body: request.body, statusCallback: request.statusCallback)
            if !problems.isEmpty { throw Refusal.invalid(problems) }
        }
        // Checked here even when the front door ran the field rules: the allow-list is the service's.
        if let callback = request.statusCallback, callbackTargets.schemeRefusal(forURL: callback) != nil {
            throw Refusal.invalid([Self.plainHTTPProblem("status_callback")])
        }
        if let callback = request.statusCallback, let refusal = callbackTargets.refusal(forURL: callback) {
            throw Refusal.invalid([Self.callbackTargetProblem(refusal)])
        }
        // A number sent from must be the account's own, or replies and STOPs reach another account.
        if let notOwned = try await messages.senderNotOwned(accountID: request.accountID, from: request.from) {
            throw Refusal.invalid([notOwned.fieldError])
        }
        if let wait = limiter.acquire(request.accountID) {
            throw Refusal.rateLimited(retryAfterSeconds: wait, perSecond: limiter.ratePerSecond)
        }
        var outbound = MessageStore.Outbound(
            accountID: request.accountID, to: request.to, from: request.from, body: request.body,
            statusCallback: request.statusCallback, statusCallbackEvents: request.statusCallbackEvents)
        outbound.smppRegisteredDelivery = request.smppRegisteredDelivery
        let submit = DomainEvent.messageSubmit(
            id: outbound.id, accountID: request.accountID, to: outbound.to, from: outbound.from, body: outbound.body,
            segments: SegmentCount(body: outbound.body).segments, at: clock.now().epochMillis)
        if check.wantsCheck(accountID: request.accountID) {
            // A recipient who opted out is refused before any add-on hears of the message: an add-on
            // must not learn about a person who asked not to be messaged. The insert checks again,
            // in its transaction, for a STOP that arrives meanwhile.
            if let optedOut = try messages.optOut(accountID: request.accountID, number: request.to) {
                throw Refusal.optedOut(number: optedOut.number, keyword: optedOut.keyword, since: optedOut.since)
            }
            if case .block(let addonID, let addonName, let code, let reason) = await check.check(submit) {
                throw Refusal.blocked(addonID: addonID, addonName: addonName, code: code, reason: reason)
            }
        }
        do {
            let message = try await messages.insertOutbound(outbound)
            pipeline.enqueue(message)
            return message
        } catch let optedOut as MessageStore.OptedOut {
            throw Refusal.optedOut(number: optedOut.number, keyword: optedOut.keyword, since: optedOut.since)
        } catch let notOwned as MessageStore.SenderNotOwned {
            throw Refusal.invalid([notOwned.fieldError])
        }
    }
}
