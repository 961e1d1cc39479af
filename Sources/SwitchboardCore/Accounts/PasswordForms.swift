import Foundation

/// The forms of a password that `PasswordPolicy` compares with the common-password list, the
/// account's own words and the keyboard: what an attacker's guessing rules undo (NIST SP 800-63B
/// section 5.1.1.2 and its appendix A: "the dictionary words … with common substitutions").
///
/// For `P@ssw0rd1234`: `folded` is `p@ssw0rd1234`; `core` is `p@ssw0rd` (digits and symbols at the
/// ends stripped); `unswapped` holds `passwordi2ea` and `passwordl2ea` (each letter swap undone,
/// `1` read as `i` and as `l`); `listCandidates` holds `password`.
package struct PasswordForms: Sendable {
    /// Case-folded and without diacritics (`Sümmer` → `summer`).
    package let folded: String
    /// `folded` without the digits, symbols and spaces at its start and end; empty when it has no letter.
    package let core: String
    /// `folded` with every letter swap undone, `1` read as `i` in the first and as `l` in the second.
    package let unswapped: [String]
    /// The letters of the first `unswapped` form, all else dropped (`p.a.s.s-word` → `password`).
    package let letters: String
    /// The forms looked up in the common-password list: the whole password, as is and unswapped, and
    /// its core widened by up to two characters at each end, unswapped (`hell0!2026` → `hello`), each
    /// of at least 4 characters.
    package let listCandidates: Set<String>

    package init(_ password: String) {
        folded = password.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
        let characters = Array(folded)
        let firstLetter = characters.firstIndex(where: \.isLetter)
        let lastLetter = characters.lastIndex(where: \.isLetter)
        unswapped = [Self.unswap(folded, one: "i"), Self.unswap(folded, one: "l")]
        letters = String(unswapped[0].filter(\.isLetter))
        var candidates: Set<String> = [folded, letters]
        candidates.formUnion(unswapped)
        if let firstLetter, let lastLetter {
            core = String(characters[firstLetter...lastLetter])
            for widenStart in 0...2 where firstLetter - widenStart >= 0 {
                for widenEnd in 0...2 where lastLetter + widenEnd < characters.count {
                    let piece = String(characters[(firstLetter - widenStart)...(lastLetter + widenEnd)])
                    candidates.insert(Self.unswap(piece, one: "i"))
                    candidates.insert(Self.unswap(piece, one: "l"))
                }
            }
        } else {
            core = ""
        }
        listCandidates = candidates.filter { $0.count >= 4 }
    }

    /// Common letter-for-symbol swaps ("leetspeak"), undone; `one` is what `1` stands for.
    static func unswap(_ text: String, one: Character) -> String {
        String(
            text.map { character -> Character in
                switch character {
                case "@", "4": "a"
                case "8": "b"
                case "(": "c"
                case "3": "e"
                case "6", "9": "g"
                case "#": "h"
                case "1": one
                case "!": "i"
                case "|": "l"
                case "0": "o"
                case "5", "$": "s"
                case "7", "+": "t"
                default: character
                }
            })
    }

    /// Whether `text` is one short block written again and again: `abcdabcdabcd`, `aaaaaaaaaaaa`,
    /// `ab12ab12ab1` (the last copy may be cut short). Needs at least two copies of the block.
    package static func isRepetition(_ text: String) -> Bool {
        let characters = Array(text)
        guard characters.count >= 2 else { return false }
        for period in 1...(characters.count / 2) {
            if (period..<characters.count).allSatisfy({ characters[$0] == characters[$0 - period] }) {
                return true
            }
        }
        return false
    }

    /// Whether `text` is made entirely of runs of 3 or more neighbouring keys or letters, each run
    /// forwards or backwards: `qwertyqwerty`, `1234567890`, `asdfghjkl`, `1qaz2wsx3edc`, `zyxwvu`.
    /// The layouts are US QWERTY, German QWERTZ and French AZERTY (rows, and columns from the
    /// digit row down), the numeric keypad and the alphabet.
    package static func isKeyboardSequence(_ text: String) -> Bool {
        let characters = Array(text)
        guard characters.count >= 3 else { return false }
        // reachable[i]: characters[..<i] splits into runs; a run is at most the longest sequence long.
        var reachable = [Bool](repeating: false, count: characters.count + 1)
        reachable[0] = true
        for start in 0..<characters.count where reachable[start] {
            let longest = min(characters.count, start + longestRun)
            guard start + 3 <= longest else { continue }
            for end in (start + 3)...longest where !reachable[end] {
                if runs.contains(String(characters[start..<end])) { reachable[end] = true }
            }
        }
        return reachable[characters.count]
    }

    /// How many characters of `text` are left once every run of 3 or more neighbouring keys or
    /// letters (as in `isKeyboardSequence`) and every run of 3 or more of one character is taken out,
    /// the longest run first, from the left: 2 for `qwertyuiopas`, 0 for `abc123!!!!!!`, 1 for `abc!!!!x`.
    package static func charactersOutsideRuns(_ text: String) -> Int {
        let characters = Array(text)
        var index = 0
        var left = 0
        while index < characters.count {
            var same = index + 1
            while same < characters.count, characters[same] == characters[index] { same += 1 }
            var longest = same - index >= 3 ? same - index : 0
            var end = min(characters.count, index + longestRun)
            while end - index >= 3, end - index > longest {
                if runs.contains(String(characters[index..<end])) {
                    longest = end - index
                    break
                }
                end -= 1
            }
            if longest > 0 {
                index += longest
            } else {
                left += 1
                index += 1
            }
        }
        return left
    }

    /// Keys or letters that sit next to each other, in the order a finger or a recital walks them.
    static let sequences: [String] = [
        "abcdefghijklmnopqrstuvwxyz", "0123456789", "!@#$%^&*()",
        // US QWERTY rows, and columns from the digit row down.
        "`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./",
        "1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik,", "9ol.", "0p;/",
        "1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0", "qwertyuiopasdfghjklzxcvbnm",
        // German QWERTZ and French AZERTY rows that differ from QWERTY.
        "qwertzuiop", "yxcvbnm", "azertyuiop", "qsdfghjklm", "wxcvbn",
        // Numeric keypad rows and columns.
        "789456123", "147258369",
    ]

    /// Every stretch of 3 or more characters of `sequences`, forwards and backwards.
    private static let runs: Set<String> = {
        var runs = Set<String>()
        for sequence in sequences {
            for walk in [Array(sequence), Array(sequence.reversed())] {
                for start in 0..<walk.count {
                    guard start + 3 <= walk.count else { break }
                    for end in (start + 3)...walk.count { runs.insert(String(walk[start..<end])) }
                }
            }
        }
        return runs
    }()

    private static let longestRun = sequences.map(\.count).max() ?? 0

    /// The words of `text` (runs of letters, case-folded) that are at least `minimumLength` long.
    package static func words(in text: String, minimumLength: Int) -> [String] {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
            .split(whereSeparator: { !$0.isLetter })
            .map(String.init)
            .filter { $0.count >= minimumLength }
    }
}
