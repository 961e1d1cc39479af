import Foundation
import SwitchboardCore
import Testing

/// Input a customer may send by mistake, each answered with an error that names the field and the
/// fix instead of being taken as something else: text that reads the same in two Unicode forms,
/// invisible text, bodies where none is read, empty or undecodable query parameters.
@Suite struct OddInputTests {
    /// An email in NFD (a letter and a combining mark) is the same address as in NFC: a second
    /// sign-up with it is refused, and either form signs in. A domain with an empty label is no address.
    @Test func oneAddressInTwoUnicodeFormsIsOneAccount() async throws {
        try await TestDaemon.withRouter { daemon in
            let composed = "\u{E4}d\u{E4}@ex\u{E4}mple.com"
            let decomposed = "a\u{308}da\u{308}@exa\u{308}mple.com"
            let (id, _) = try await daemon.signUp(email: composed)
            let again = try await daemon.client.post(
                "/v1/accounts", json: ["name": "Ada", "email": decomposed, "password": "plum-harbor-violet-42"])
            #expect(again.status == 409, "\(again.text)")
            let login = try await daemon.client.post(
                "/v1/login", json: ["email": decomposed.uppercased(), "password": "plum-harbor-violet-42"])
            #expect(login.status == 200, "\(login.text)")
            #expect(login.json["account_id"] as? String == id)
            let doubleDot = try await daemon.client.post(
                "/v1/accounts", json: ["name": "Ada", "email": "ada@example..com", "password": "plum-harbor-violet-42"])
            #expect(doubleDot.status == 422)
            #expect(doubleDot.errorFields == ["email"])
            // An invisible character would make a second account that reads as the first.
            for hidden in ["\u{E4}d\u{E4}@ex\u{E4}mple.com\u{200B}", "ada@exam\u{AD}ple.com"] {
                let lookAlike = try await daemon.client.post(
                    "/v1/accounts", json: ["name": "Ada", "email": hidden, "password": "plum-harbor-violet-42"])
                #expect(lookAlike.status == 422, "\(lookAlike.text)")
            }
            // A new name that shows nothing is refused, as at sign-up.
            let (_, client) = try await daemon.signUp()
            for blank in [" ", "\u{200B}", "\u{3164}"] {
                let renamed = try await client.patch("/v1/account", json: ["name": blank])
                #expect(renamed.status == 422, "\(renamed.text)")
                #expect(renamed.text.contains("must not be blank"), "\(renamed.text)")
            }
        }
    }

    /// A full-width STOP (as some phones' keyboards send it) and a STOP with an invisible character
    /// inside are opt-outs; a word that only contains the letters is not.
    @Test func fullWidthAndInvisiblySplitKeywordsAreKeywords() {
        #expect(OptOutKeyword.action(for: "\u{FF33}\u{FF34}\u{FF2F}\u{FF30}")?.1 == "STOP")
        #expect(OptOutKeyword.action(for: "st\u{AD}op")?.1 == "STOP")
        #expect(OptOutKeyword.action(for: "\u{200B}Stop\u{200B}")?.1 == "STOP")
        #expect(OptOutKeyword.action(for: "\u{FF33}\u{FF34}\u{FF21}\u{FF32}\u{FF34}")?.0 == .optedIn)
        #expect(OptOutKeyword.action(for: "stopwatch") == nil)
        // Dashes of every kind separate words as "-" does; DEL shows nothing.
        for spelling in ["OPT\u{2014}OUT", "opt\u{2013}out", "opt\u{2010}out", "opt\u{2011}out", "opt\u{2212}out"] {
            #expect(OptOutKeyword.action(for: spelling)?.1 == "OPT OUT", "\(spelling.unicodeScalars.map(\.value))")
        }
        #expect(OptOutKeyword.action(for: "stop\u{7F}")?.1 == "STOP")
    }

    /// Bodies and senders that show nothing, or break a rule the message should name.
    @Test func invisibleBodiesAndOddSendersAreNamed() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            for body in [
                "\u{200B}", "\u{7F}", "\u{85}\u{9B}", " \u{AD}\u{2060} ", "\u{2800}\u{2800}", "\u{FFF9}\u{FFFB}",
            ] {
                let response = try await client.post(
                    "/v1/messages", json: ["to": "+37255512345", "from": "ACME", "body": body])
                #expect(response.status == 422, "\(body.unicodeScalars.map(\.value))")
                #expect(response.text.contains("must not be blank"), "\(response.text)")
            }
            let digits = try await client.post(
                "/v1/messages", json: ["to": "+37255512345", "from": "12345", "body": "hi"])
            #expect(digits.text.contains("a number needs a leading + and its country code"), "\(digits.text)")
            let accented = try await client.post(
                "/v1/messages", json: ["to": "+37255512345", "from": "\u{C4}CME", "body": "hi"])
            #expect(accented.text.contains("it holds '\u{C4}' (U+C4)"), "\(accented.text)")
            let spaced = try await client.post(
                "/v1/messages",
                json: [
                    "to": "+37255512345", "from": "ACME", "body": "hi", "status_callback": "https://example.com/a b",
                ])
            #expect(spaced.status == 422)
            #expect(spaced.text.contains("it holds a space, which a URL carries percent-encoded"), "\(spaced.text)")
            let port = try await client.post(
                "/v1/messages",
                json: [
                    "to": "+37255512345", "from": "ACME", "body": "hi",
                    "status_callback": "https://example.com:99999/cb",
                ])
            #expect(port.text.contains("its port 99999 is not one: ports are 1 to 65535"), "\(port.text)")
            let overflow = try await client.post(
                "/v1/messages",
                json: [
                    "to": "+37255512345", "from": "ACME", "body": "hi",
                    "status_callback": "https://example.com:99999999999999999999/cb",
                ])
            #expect(overflow.status == 422, "\(overflow.text)")
            #expect(overflow.text.contains("ports are 1 to 65535"), "\(overflow.text)")
            // RFC 9110 §4.2.4: a password in the URL would be stored and shown with it.
            let userinfo = try await client.post(
                "/v1/messages",
                json: [
                    "to": "+37255512345", "from": "ACME", "body": "hi",
                    "status_callback": "https://ada:secret@example.com/cb",
                ])
            #expect(userinfo.status == 422, "\(userinfo.text)")
            #expect(userinfo.text.contains("it holds a user name or password"), "\(userinfo.text)")
            let webhook = try await client.patch("/v1/account", json: ["inbound_webhook": "https://ada@example.com/in"])
            #expect(webhook.status == 422, "\(webhook.text)")
            #expect(webhook.text.contains("it holds a user name or password"), "\(webhook.text)")
            // A private address with a root label is the same address, refused when it is given.
            let rooted = try await client.post(
                "/v1/messages",
                json: ["to": "+37255512345", "from": "ACME", "body": "hi", "status_callback": "https://10.0.0.1./cb"])
            #expect(rooted.status == 422, "\(rooted.text)")
            #expect(rooted.text.contains("private"), "\(rooted.text)")
            // Braille blanks among letters are text.
            let braille = try await client.post(
                "/v1/messages", json: ["to": "+37255512345", "from": "ACME", "body": "a\u{2800}b"])
            #expect(braille.status == 201, "\(braille.text)")
        }
    }

    /// A body on a DELETE is refused (`{"erase": true}` would otherwise withdraw without erasing);
    /// an erasure request naming neither subject says which field to give; an empty or undecodable
    /// query parameter is named instead of answering an empty list; a duplicate key in the webhook
    /// secret rotation names its field as every other body does.
    @Test func inputThatWouldBeReadAsSomethingElseIsRefused() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]]).status == 201)
            let withBody = try await client.request(
                .DELETE, "/v1/account/addons/reporting", body: Data(#"{"erase": true}"#.utf8))
            #expect(withBody.status == 422, "\(withBody.text)")
            #expect(withBody.text.contains("?erase=true"), "\(withBody.text)")
            let consent = try await client.get("/v1/account/addons/reporting")
            #expect((consent.json["addon"] as? [String: Any])?["enabled"] as? Bool == true, "\(consent.text)")

            let neither = try await client.post("/v1/account/erasures", json: ["number": NSNull(), "addon": NSNull()])
            #expect(neither.status == 422)
            #expect(neither.errorFields == ["number"], "\(neither.text)")
            #expect(neither.text.contains("is required: give number"), "\(neither.text)")

            let undecodable = try await client.get("/v1/contacts?q=%FF")
            #expect(undecodable.status == 422)
            #expect(undecodable.errorFields == ["q"], "\(undecodable.text)")
            let empty = try await client.get("/v1/contacts?group=")
            #expect(empty.status == 422)
            #expect(empty.text.contains("is empty; give a value or leave the parameter out"), "\(empty.text)")
            #expect(try await client.get("/v1/contacts?q=%C3%A9").status == 200)

            let duplicate = try await client.post(
                "/v1/account/webhook-secret/rotate", raw: #"{"overlap_seconds": 60, "overlap_seconds": 0}"#)
            #expect(duplicate.status == 400)
            #expect(duplicate.errorFields == ["overlap_seconds"], "\(duplicate.text)")
        }
    }

    /// A category the add-on asks nothing of is refused, naming the categories it does ask for,
    /// rather than dropped while the rest is granted.
    @Test func aCategoryTheAddonDoesNotAskForIsRefused() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let response = try await client.put(
                "/v1/account/addons/reporting", json: ["categories": ["usage", "account"]])
            #expect(response.status == 422, "\(response.text)")
            #expect(response.text.contains("account: "), "\(response.text)")
            #expect(response.text.contains("asks for no field of this category"), "\(response.text)")
        }
    }

    /// A mistyped add-on id is answered with the one it is closest to, in the API, on reload and in
    /// a consent file.
    @Test func aMistypedAddonIdNamesTheClosestOne() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let catalog = try await client.get("/v1/addons/reportnig")
            #expect(catalog.status == 404)
            #expect(
                catalog.text.contains("reportnig is not an available add-on (did you mean reporting?)"),
                "\(catalog.text)")
            let grant = try await client.put("/v1/account/addons/monitorng", json: ["categories": ["usage"]])
            #expect(grant.status == 404)
            #expect(grant.text.contains("(did you mean monitoring?)"), "\(grant.text)")
            let far = try await client.get("/v1/addons/weather")
            #expect(far.status == 404)
            #expect(!far.text.contains("did you mean"), "\(far.text)")
        }
    }
}
