import Foundation
import GRDB
import SwitchboardCore
import Testing

/// The core's use cases on a real SQLite file, without HTTP.
@Suite struct UseCaseTests {
    /// A request sink that refuses, as a failing write in the add-on platform would.
    struct RefusingSink: ErasureRequestSink {
        struct Refused: Error {}
        func requestErasure(_ db: Database, accountID: String, subject: ErasureSubject, origin: String) throws
            -> String
        { throw Refused() }
        func requestErasure(_ db: Database, accountID: String, atAddon addonID: String, origin: String) throws
            -> String
        { throw Refused() }
    }

    static func store(_ directory: URL) throws -> (GroupCommitWriter, AccountStore) {
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .normal)
        let writer = GroupCommitWriter(pool: pool)
        return (writer, AccountStore(writer: writer, clock: SystemWallClock(), hasher: PasswordHasher(costLog2: 10)))
    }

    /// The core's erasure and the request to the add-ons commit together or not at all: when the
    /// request cannot be recorded, nothing of the account is erased.
    @Test func anErasureWhoseRequestFailsErasesNothing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-uc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (writer, accounts) = try Self.store(directory)
        let created = try await accounts.signUp(
            .init(name: "Ada", email: "ada@example.com", company: nil, password: "plum-harbor-violet-42"))
        let failing = ErasureService(
            writer: writer, clock: SystemWallClock(), accounts: accounts, requests: RefusingSink(), retentionDays: 365)
        await #expect(throws: RefusingSink.Refused.self) {
            _ = try await failing.eraseAccount(accountID: created.account.id, origin: "test")
        }
        let kept = try await accounts.find(id: created.account.id)
        #expect(kept?.status == .active && kept?.email == "ada@example.com")

        let working = ErasureService(
            writer: writer, clock: SystemWallClock(), accounts: accounts, requests: NoAddons(), retentionDays: 365)
        let outcome = try await working.eraseAccount(accountID: created.account.id, origin: "test")
        #expect(outcome?.report.status == .erased)
        #expect(outcome?.requestID?.hasPrefix("er") == true)
        #expect(try await accounts.find(id: created.account.id)?.status == .erased)
    }

    /// Sign-up names every broken field at once and refuses a taken email.
    @Test func signUpRefusesWithTypedReasons() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-uc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, accounts) = try Self.store(directory)
        do {
            _ = try await accounts.signUp(.init(name: "Ada", email: "not-an-email", company: nil, password: "short"))
            Issue.record("a bad sign-up was accepted")
        } catch AccountStore.SignUpRefusal.invalid(let errors) {
            #expect(Set(errors.map(\.field)) == ["email", "password"])
        }
        _ = try await accounts.signUp(
            .init(name: "Ada", email: "ada@example.com", company: nil, password: "plum-harbor-violet-42"))
        await #expect(throws: AccountStore.SignUpRefusal.emailTaken) {
            _ = try await accounts.signUp(
                .init(name: "Ada", email: "ADA@example.com", company: nil, password: "plum-harbor-violet-42"))
        }
    }

    /// The send rules are one function, used by every front door.
    @Test func sendRulesNameTheFieldAndTheFix() {
        let problems = SendService.problems(
            to: "12345", from: "this sender is far too long", body: String(repeating: "a", count: 1601),
            statusCallback: "ftp://example.com")
        #expect(problems.map(\.field) == ["to", "from", "body", "status_callback"])
        #expect(
            SendService.problems(
                to: "+37255512345", from: "ACME", body: "Hello", statusCallback: "https://example.com/cb"
            ).isEmpty)
    }
}
