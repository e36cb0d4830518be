import ArgumentParser

/// The words of a command line that name commands (`nmt image train …`, `nmt help vocab learn`),
/// checked before ArgumentParser parses: a command group takes no arguments of its own, so a word
/// that is no command of it is a typing mistake. Left to ArgumentParser, `nmt tranlsate "Hi."`
/// reads "2 unexpected arguments" and `nmt help nosuch` prints the top-level help and exits 0;
/// here each is one line naming the word, with the nearest command when one is near.
enum CommandNames {
    /// Throws a `CommandError` for the first word that should name a command of `root`'s tree
    /// and does not.
    static func check(_ arguments: [String], root: ParsableCommand.Type) throws {
        var words = arguments[...]
        var command = root, path = [root._commandName]
        // `nmt help WORD…`: every word must name a command.
        let isHelp = words.first == "help"
        if isHelp { words = words.dropFirst() }
        while let word = words.first {
            let subcommands = command.configuration.subcommands
            // A command that runs (or an option) takes the rest: ArgumentParser checks it.
            if subcommands.isEmpty || word.hasPrefix("-") { return }
            guard let next = subcommands.first(where: { names(of: $0).contains(word) }) else {
                throw CommandError(unknown(word, among: subcommands, under: path.joined(separator: " ")))
            }
            command = next
            path.append(next._commandName)
            words = words.dropFirst()
        }
    }

    /// "no command 'tranlsate' in nmt; did you mean 'translate'?", or the list of the group's
    /// commands when none is near.
    static func unknown(_ word: String, among subcommands: [ParsableCommand.Type], under path: String) -> String {
        let candidates = subcommands.map { $0._commandName }
        let message = "no command '\(word)' in \(path)"
        if let nearest = nearest(to: word, among: candidates) {
            return "\(message); did you mean '\(nearest)'? (\(path) --help lists the commands)"
        }
        return "\(message); the commands are \(candidates.joined(separator: ", "))"
    }

    static func names(of command: ParsableCommand.Type) -> [String] {
        [command._commandName] + command.configuration.aliases
    }

    /// The candidate the word is a likely misspelling of: within two edits (a third of the word
    /// at most, so short words need a closer match), or the only command it begins.
    static func nearest(to word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        let distances = candidates.map { (candidate: $0, distance: editDistance(lowered, $0)) }
        if let best = distances.min(by: { $0.distance < $1.distance }),
           best.distance <= min(2, max(1, lowered.count / 3)) {
            return best.candidate
        }
        let extended = candidates.filter { lowered.count >= 2 && $0.hasPrefix(lowered) }
        return extended.count == 1 ? extended[0] : nil
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbours (the commonest typing slip, "tranlsate") each cost 1.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let substitution = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
