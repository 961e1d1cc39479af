/// Passwords of policy length that appear on public breach lists; refused at sign-up and change.
enum CommonPasswords {
    static func contains(_ lowercased: String) -> Bool {
        if list.contains(lowercased) { return true }
        // "password" or "qwerty" plus a run of digits is the most common pattern of all.
        for stem in stems where lowercased.hasPrefix(stem) {
            let rest = lowercased.dropFirst(stem.count)
            if rest.allSatisfy({ $0.isNumber || $0 == "!" }) { return true }
        }
        return false
    }

    private static let stems = [
        "password", "passw0rd", "qwerty", "letmein", "welcome", "iloveyou", "admin", "abc", "monkey",
        "dragon", "football", "baseball", "sunshine", "princess", "master", "shadow", "trustno1", "switchboard",
    ]

    private static let list: Set<String> = [
        "123456789012", "1234567890123", "12345678901234", "123456123456", "qwertyuiopas",
        "qwertyuiop123", "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3", "qazwsxedcrfv",
        "asdfghjkl123", "asdfghjklqwe", "aaaaaaaaaaaa", "111111111111", "000000000000",
        "abcdefghijkl", "abcdef123456", "abc123abc123", "iloveyou1234", "passwordpassword",
        "correcthorsebatterystaple", "changemechangeme", "administrator", "administrator1",
        "welcomewelcome", "letmeinletmein", "michaeljordan", "starwars1234", "whateverwhatever",
        "123qweasdzxc", "qweasdzxc123", "1234qwerasdf", "q1w2e3r4t5y6", "987654321098",
        "superman1234", "batman123456", "pokemon12345", "liverpool123", "chelsea12345",
        "computer1234", "internet1234", "samsung12345", "google123456", "facebook1234",
    ]
}
