import ArgumentParser
import SwitchboardCore

/// Names a mistyped command before the arguments are parsed. `serve` is the default command and
/// takes no positional argument, so without this `switchboard acounts list` is read as `serve`
/// with two stray words and answered with serve's usage, and `switchboard audit verfy` as `audit`
/// with an unknown option: neither says which word was wrong.
enum CommandWords {
    /// Why `arguments` (without the program name) do not start with known command words, with the
    /// command meant where one is close; nil when they do.
    static func problem(_ arguments: [String], root: any ParsableCommand.Type) -> String? {
        var node = Node(root)
        var path = [node.name]
        for word in arguments {
            // An option, or the words after a command that takes no further command.
            guard !word.hasPrefix("-"), !node.children.isEmpty else { return nil }
            if word == "help" { return nil }
            let names = node.children.map { Node($0).name }
            guard let index = names.firstIndex(of: word) else {
                // Only the root's default command (serve) stands in for a missing command word.
                if node.hasDefault, path.count > 1 { return nil }
                let close = names.filter { distance(word, $0) <= 2 || (word.count >= 3 && $0.hasPrefix(word)) }
                let meant = close.first.map { "; did you mean `\((path + [$0]).joined(separator: " "))`?" } ?? "."
                return "unknown command `\((path + [word]).joined(separator: " "))`\(meant) "
                    + "The commands of `\(path.joined(separator: " "))` are \(names.joined(separator: ", ")); "
                    + "`\((path + ["--help"]).joined(separator: " "))` says what each does."
            }
            node = Node(node.children[index])
            path.append(word)
        }
        return nil
    }

    /// An option given more than once (`--addon reporting --addon monitoring`), named; nil when
    /// none is. ArgumentParser keeps the last, so a mistyped first value went unseen and an audit
    /// answered for the other; no option of these commands takes several values.
    static func repeatedOption(_ arguments: [String]) -> String? {
        var seen: [String: Int] = [:]
        for word in arguments.prefix(while: { $0 != "--" }) where word.hasPrefix("--") && word.count > 2 {
            let name = String(word.prefix { $0 != "=" })
            seen[name, default: 0] += 1
        }
        guard let (name, count) = seen.filter({ $0.value > 1 }).min(by: { $0.key < $1.key }) else { return nil }
        return "\(name) is given \(count) times; give it once"
    }

    /// What a command type says of its place in the tree, read once through a generic function
    /// (the compiler crashed reading it through the existential metatype in a loop).
    struct Node {
        var name: String
        var children: [any ParsableCommand.Type]
        var hasDefault: Bool

        init(_ type: any ParsableCommand.Type) {
            self = Self.read(type)
        }

        private init(name: String, children: [any ParsableCommand.Type], hasDefault: Bool) {
            self.name = name
            self.children = children
            self.hasDefault = hasDefault
        }

        private static func read<Command: ParsableCommand>(_: Command.Type) -> Node {
            Node(
                name: Command._commandName, children: Command.configuration.subcommands,
                hasDefault: Command.configuration.defaultSubcommand != nil)
        }
    }

    /// The Levenshtein distance between two words (`EditDistance`).
    static func distance(_ a: String, _ b: String) -> Int { EditDistance.between(a, b) }
}
