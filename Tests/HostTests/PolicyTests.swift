import Foundation
import SwitchboardCore
import Testing

/// Passwords (NIST SP 800-63B section 5.1.1.2), sender numbers that belong to their account, and
/// the opt-out keywords of the FCC's 2024 revocation rules and European practice.
@Suite struct PolicyTests {
    let policy = PasswordPolicy()

    // MARK: Passwords

    @Test func commonPasswordsAreRefusedAfterCaseDigitsSymbolsAndSwapsAreUndone() {
        for password in [
            "Summer2026!!", "P@ssw0rd1234", "password12345", "2026Summer!!", "DRAGON-2026-!", "Monk3y123456",
            "iloveyou2026", "Hell0!!!2026",
        ] {
            let problem = policy.problem(with: password, email: "ops@example.com")
            #expect(problem?.contains("commonly used passwords") == true, "\(password): \(problem ?? "accepted")")
        }
        #expect(CommonPasswords.count >= 30_000)
        #expect(CommonPasswords.contains("password") && CommonPasswords.contains("summer"))
    }

    @Test func repeatsAndKeyboardRunsAreRefused() {
        for password in [
            "qwertyqwerty", "1qaz2wsx3edc", "asdfghjklzxc", "0987654321qwerty", "azertyuiop12", "qwertyuiopas",
        ] {
            let problem = policy.problem(with: password, email: nil)
            #expect(problem?.contains("neighbouring keys") == true, "\(password): \(problem ?? "accepted")")
        }
        for password in ["aaaaaaaaaaaa", "xk7!xk7!xk7!", "Purple!Purple!", "tictac!tictac!tictac"] {
            let problem = policy.problem(with: password, email: nil)
            #expect(problem?.contains("repeats") == true, "\(password): \(problem ?? "accepted")")
        }
        for password in ["abc123!!!!!!", "abc!!!!!!!!!", "zzzz1234qwer"] {
            let problem = policy.problem(with: password, email: nil)
            #expect(
                problem?.contains("mostly keys or letters in order") == true, "\(password): \(problem ?? "accepted")")
        }
        #expect(PasswordForms.charactersOutsideRuns("qwertyuiopas") == 0)
        #expect(PasswordForms.charactersOutsideRuns("plum-harbor-violet-42") == 21)
        // abcdabcdabcd is both a repeat and an alphabet run; either reason refuses it.
        #expect(policy.problem(with: "abcdabcdabcd", email: nil) != nil)
        #expect(PasswordForms.isKeyboardSequence("1234567890"))
        #expect(PasswordForms.isKeyboardSequence("asdfghjkl"))
        #expect(PasswordForms.isKeyboardSequence("zyxwvutsrq"))
        #expect(!PasswordForms.isKeyboardSequence("plum-harbor-violet-42"))
        #expect(PasswordForms.isRepetition("abcdabcdabcd") && PasswordForms.isRepetition("aaaaaaaaaaaa"))
        #expect(!PasswordForms.isRepetition("abcdabcdabce"))
    }

    @Test func theAccountsOwnNameAndEmailAreRefused() {
        let email = "grace.hopper@example.com"
        for (password, name) in [
            ("grace.hopper@example.com", "Grace"), ("xx grace.hopper@example.com", "Grace"),
            ("hopper-cobol-1959", "Grace"), ("Gr@ce-and-cobol-59", "Someone Else"),
        ] {
            let problem = policy.problem(with: password, email: email, name: name)
            #expect(problem?.contains("email") == true, "\(password): \(problem ?? "accepted")")
        }
        // A short local part is still refused when the whole address is in the password.
        #expect(policy.problem(with: "ab@example.com!!", email: "ab@example.com")?.contains("email") == true)
        for password in ["Lovelace-1815-engine", "l0velace-harbor-7", "adalovelace-rocks"] {
            let problem = policy.problem(with: password, email: "countess@example.com", name: "Ada Lovelace")
            #expect(problem?.contains("your name") == true, "\(password): \(problem ?? "accepted")")
        }
        #expect(policy.problem(with: "my-Switchboard-key", email: nil)?.contains("this service") == true)
    }

    @Test func passphrasesAndRandomPasswordsPass() {
        for password in [
            "plum-harbor-violet-42", "new-lantern-orchid-77", "x7$Kp9!mQ2#z", "correct horse battery cable",
            "Überfahrt-Kiefer-Möwe", "adamant rivers of tin",
        ] {
            #expect(
                policy.problem(with: password, email: "ada@example.com", name: "Ada Lovelace") == nil, "\(password)")
        }
    }

    @Test func everyRefusalSaysWhyAndWhatToDo() {
        for password in ["short", "Summer2026!!", "qwertyqwerty", "aaaaaaaaaaaa", "ada.l@example.com"] {
            let problem = policy.problem(with: password, email: "ada.l@example.com", name: "Ada")
            #expect(
                problem?.contains("; use 12 to 128 characters: three or four unrelated words") == true, "\(password)")
        }
    }

    @Test func signUpAnswers422OnPasswordForEachWeakPassword() async throws {
        try await TestDaemon.withRouter { daemon in
            for (password, email, reason) in [
                ("Summer2026!!", "s1@example.com", "common"), ("P@ssw0rd1234", "s2@example.com", "common"),
                ("qwertyqwerty", "s3@example.com", "keys"), ("abcdabcdabcd", "s4@example.com", "12 to 128"),
                ("ab@example.com!!", "ab@example.com", "email"), ("Lovelace-harbor-1", "s5@example.com", "name"),
            ] {
                let response = try await daemon.client.post(
                    "/v1/accounts", json: ["name": "Ada Lovelace", "email": email, "password": password])
                #expect(response.status == 422, "\(password): \(response.text)")
                #expect(response.errorFields == ["password"], "\(password)")
                #expect(response.text.contains(reason), "\(password): \(response.text)")
                #expect(response.text.contains("12 to 128 characters"), "\(password)")
            }
            let accepted = try await daemon.client.post(
                "/v1/accounts",
                json: ["name": "Ada Lovelace", "email": "fine@example.com", "password": "plum-harbor-violet-42"])
            #expect(accepted.status == 201)
        }
    }

    @Test func passwordChangesFollowTheSamePolicy() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp(email: "ada.byron@example.com", name: "Ada Lovelace")
            let current = "plum-harbor-violet-42"
            for weak in ["Summer2026!!", "qwertyqwerty", "byron-1815-poetry", "Lovelace-harbor-1"] {
                let response = try await client.patch(
                    "/v1/account", json: ["password": weak, "current_password": current])
                #expect(response.status == 422, "\(weak): \(response.text)")
                #expect(response.errorFields == ["password"], "\(weak)")
            }
            // The name the same request sets counts too.
            let renamed = try await client.patch(
                "/v1/account",
                json: ["name": "Grace Hopper", "password": "hopper-cobol-1959-x", "current_password": current])
            #expect(renamed.errorFields == ["password"])
            #expect(renamed.text.contains("your name"))
            let changed = try await client.patch(
                "/v1/account", json: ["password": "new-lantern-orchid-77", "current_password": current])
            #expect(changed.status == 200)
        }
    }

    // MARK: Sender numbers

    @Test func aNumberAsFromMustBeOneOfTheSendingAccountsNumbers() async throws {
        try await withDaemon { daemon in
            let (_, alice) = try await daemon.signUp()
            let (bobID, bob) = try await daemon.signUp()
            #expect(try await bob.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)

            let spoofed = try await alice.send(to: "+37255512345", from: "+37255500000")
            #expect(spoofed.status == 422, "\(spoofed.text)")
            #expect(spoofed.errorFields == ["from"])
            let fix = (spoofed.json["errors"] as? [[String: Any]])?.first?["message"] as? String
            #expect(fix?.contains("claim it first with POST /v1/account/numbers") == true, "\(spoofed.text)")
            // A number nobody claimed is refused the same way, with nothing stored.
            #expect(try await alice.send(from: "+37255599999").errorFields == ["from"])
            #expect(try await alice.get("/v1/messages").data.isEmpty)

            // The recipient's STOP to Bob's number opts out of Bob only; Alice never sent from it.
            #expect(try await bob.send(to: "+37255512345", from: "+37255500000").status == 201)
            let stop = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "STOP"])
            #expect(stop.json["account_id"] as? String == bobID)
            #expect(try await bob.send(to: "+37255512345", from: "+37255500000").status == 422)

            // Alice's own number and an alphanumeric sender id are hers to use.
            #expect(try await alice.post("/v1/account/numbers", json: ["number": "+37255500001"]).status == 201)
            #expect(try await alice.send(from: "+37255500001").status == 201)
            #expect(try await alice.send(from: "ACME 24").status == 201)
        }
    }

    @Test func theStoreRefusesANumberTheAccountNoLongerHoldsInItsOwnTransaction() async throws {
        try await TestDaemon.withRouter { daemon in
            let (accountID, client) = try await daemon.signUp()
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500002"]).status == 201)
            let messages = daemon.daemon.messages
            // As if the number were released between SendService's first check and the insert.
            #expect(try await messages.senderNotOwned(accountID: accountID, from: "+37255500002") == nil)
            #expect(try await client.delete("/v1/account/numbers/+37255500002").status == 204)
            let outbound = MessageStore.Outbound(
                accountID: accountID, to: "+37255512345", from: "+37255500002", body: "late")
            await #expect(throws: MessageStore.SenderNotOwned(number: "+37255500002")) {
                try await messages.insertOutbound(outbound)
            }
            #expect(try await client.get("/v1/messages").data.isEmpty)
        }
    }

    // MARK: Opt-out keywords

    @Test func everyOptOutAndOptInKeywordIsRecognisedInEveryCommonSpelling() {
        for keyword in OptOutKeyword.stop {
            for spelling in [
                keyword, keyword.lowercased(), " \(keyword.capitalized). ", "\(keyword)!", "\n\(keyword)\n",
            ] {
                let action = OptOutKeyword.action(for: spelling)
                #expect(action?.0 == .optedOut, "\(spelling.debugDescription)")
                #expect(action?.1 == keyword, "\(spelling.debugDescription)")
            }
        }
        for keyword in OptOutKeyword.start {
            for spelling in [keyword, keyword.lowercased(), " \(keyword.capitalized). "] {
                #expect(OptOutKeyword.action(for: spelling)?.0 == .optedIn, "\(spelling.debugDescription)")
            }
        }
        for (spelling, keyword) in [
            ("REVOKE", "REVOKE"), ("opt out", "OPT OUT"), ("Opt-Out!", "OPT OUT"), ("OPT  OUT", "OPT OUT"),
            ("opt_out", "OPT OUT"), ("Stop all", "STOP ALL"), ("Arrêt", "ARRET"), ("stopp.", "STOPP"),
        ] {
            #expect(OptOutKeyword.action(for: spelling)?.1 == keyword, "\(spelling)")
        }
        #expect(OptOutKeyword.action(for: "opt-in")?.0 == .optedIn)
        for body in ["please stop sending", "stopping", "yes", "opt", "out", "stop stop", "non-stop"] {
            #expect(OptOutKeyword.action(for: body) == nil, "\(body)")
        }
        // The two sets cannot disagree about a word.
        #expect(OptOutKeyword.stop.isDisjoint(with: OptOutKeyword.start))
        for required in ["STOP", "QUIT", "END", "REVOKE", "OPT OUT", "CANCEL", "UNSUBSCRIBE", "STOPALL"] {
            #expect(OptOutKeyword.stop.contains(required), "\(required)")
        }
    }

    @Test func revokeAndTwoWordOptOutStopSendingAndOptInRestoresIt() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500003"]).status == 201)
            for (index, body) in ["REVOKE", "opt out", "Opt-Out."].enumerated() {
                let number = "+3725551234\(index)"
                let reply = try await daemon.admin.post(
                    "/v1/admin/simulator/inbound", json: ["from": number, "to": "+37255500003", "body": body])
                #expect(reply.json["opt_out"] as? String == "opted_out", "\(body): \(reply.text)")
                #expect(try await client.send(to: number).status == 422, "\(body)")
            }
            let keywords = try await client.get("/v1/account/opt-outs").data.compactMap { $0["keyword"] as? String }
            #expect(Set(keywords) == ["REVOKE", "OPT OUT"])
            let optIn = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512341", "to": "+37255500003", "body": "Opt in"])
            #expect(optIn.json["opt_out"] as? String == "opted_in")
            #expect(try await client.send(to: "+37255512341").status == 201)
        }
    }

    @Test func theApiReferenceListsExactlyTheKeywordsRecognised() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let api = try String(contentsOf: root.appendingPathComponent("docs/api.md"), encoding: .utf8)
        let section = try #require(api.components(separatedBy: "## Opt-out keywords").last)
        func keywords(inRowEndingWith effect: String) throws -> Set<String> {
            let row = try #require(section.split(separator: "\n").first { $0.hasPrefix("|") && $0.contains(effect) })
            let cell = row.split(separator: "|")[0]
            let pieces = cell.split(separator: "`", omittingEmptySubsequences: false)
            return Set(pieces.enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) })
        }
        #expect(try keywords(inRowEndingWith: "is opted out") == OptOutKeyword.stop)
        #expect(try keywords(inRowEndingWith: "opt-out is removed") == OptOutKeyword.start)
    }
}
