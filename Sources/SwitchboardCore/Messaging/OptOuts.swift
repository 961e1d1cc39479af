import Foundation
import GRDB

/// Inbound keywords that change a number's consent to receive an account's messages.
///
/// Opt-out: the keywords a US sender must honour since the FCC's 2024 Report and Order on revoking
/// consent (FCC 24-24, 47 CFR 64.1200(a)(10): "stop", "quit", "end", "revoke", "opt out", "cancel",
/// "unsubscribe"), the carriers' and CTIA's long-standing `STOPALL` / `STOP ALL` and `OPTOUT`,
/// `REMOVE`, and the forms used in Europe and Canada (`STOPP` in German and the Nordic languages,
/// `ARRET`/`ARRÊT` in French, `BAJA` in Spanish). Opt-in mirrors them: `START`, `UNSTOP`,
/// `OPT IN`/`OPTIN`, `SUBSCRIBE`, `START ALL`/`STARTALL`. `YES` is not an opt-in: it answers
/// questions and must not quietly undo a STOP.
///
/// The whole body must be one keyword, matched without regard to case, accents or width (a phone's
/// full-width `ＳＴＯＰ`), with invisible characters (a soft hyphen, a zero-width space: Unicode's
/// Default_Ignorable_Code_Point, and controls such as DEL) left out, whitespace and punctuation around
/// it ignored and any run of spaces, dashes of any kind, underscores or dots inside it read as one
/// space (`Opt-Out!` and `OPT—OUT` are `OPT OUT`).
public enum OptOutKeyword {
    /// The opt-out keywords, in their normal form (upper case, one space between words).
    public static let stop: Set<String> = [
        "STOP", "QUIT", "END", "REVOKE", "OPT OUT", "OPTOUT", "CANCEL", "UNSUBSCRIBE", "STOPALL", "STOP ALL",
        "REMOVE", "STOPP", "ARRET", "BAJA",
    ]
    /// The opt-in keywords, in their normal form.
    public static let start: Set<String> = [
        "START", "UNSTOP", "OPT IN", "OPTIN", "SUBSCRIBE", "STARTALL", "START ALL",
    ]

    public enum Action: String, Sendable, Codable {
        case optedOut = "opted_out"
        case optedIn = "opted_in"
    }

    /// What `body` asks for, with the keyword in its normal form (stored as the opt-out's `keyword`),
    /// or nil when the body is not exactly one keyword.
    package static func action(for body: String) -> (Action, String)? {
        guard body.count <= 40 else { return nil }
        let word = normalized(body)
        if stop.contains(word) { return (.optedOut, word) }
        if start.contains(word) { return (.optedIn, word) }
        return nil
    }

    /// Upper case without accents, of normal width, without invisible characters, trimmed of
    /// whitespace and punctuation, inner separators as one space.
    package static func normalized(_ body: String) -> String {
        var visible = String.UnicodeScalarView()
        visible.append(
            contentsOf: body.unicodeScalars.lazy.filter {
                !$0.properties.isDefaultIgnorableCodePoint
                    && ($0.properties.generalCategory != .control || $0.properties.isWhitespace)
            })
        let folded = String(visible).folding(
            options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil
        )
        .trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters).union(.symbols))
        .uppercased()
        // Any dash (general category Pd: U+2010 hyphen, en and em dashes a phone's autocorrect makes
        // of "-" and "--") and the minus sign separate words as "-" does.
        return folded.split(whereSeparator: { character in
            character.isWhitespace || "-_.\u{2212}".contains(character)
                || character.unicodeScalars.allSatisfy { $0.properties.generalCategory == .dashPunctuation }
        }).joined(separator: " ")
    }
}

public struct OptOut: Sendable, Equatable, FetchableRecord {
    public var number: String
    public var keyword: String
    public var createdAt: Int64

    public init(row: Row) throws {
        number = row["number"]
        keyword = row["keyword"]
        createdAt = row["created_at"]
    }
}

extension MessageStore {
    public func optOuts(accountID: String) async throws -> [OptOut] {
        try await writer.pool.read { db in
            try OptOut.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM opt_outs WHERE account_id = ? ORDER BY created_at DESC"),
                arguments: [accountID])
        }
    }
}
