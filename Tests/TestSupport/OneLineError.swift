/// Checks of the house rule for bad input: one line that names the file (or `<memory>`) and says
/// what is wrong. Returns what falls short, for the test to assert empty, so that every test
/// target can use it without this module importing XCTest.
public enum OneLineError {
    /// What is wrong with the error `body` throws: it must throw an error of type `type` whose
    /// description starts with "`source`: ", has no newline and contains each of `words`.
    /// Prints the message, so a test log shows every refusal's wording.
    public static func problems<E: Error>(of body: () throws -> Any, type: E.Type, source: String, mentions words: [String]) -> [String] {
        do {
            _ = try body()
            return ["no error thrown"]
        } catch {
            let text = "\(error)"
            print("refused: \(text)")
            var problems: [String] = []
            if !(error is E) { problems.append("\(Swift.type(of: error)) is not \(E.self)") }
            if !text.hasPrefix("\(source): ") { problems.append("\(text) does not start with \(source):") }
            if text.contains("\n") { problems.append("more than one line: \(text)") }
            for word in words where !text.contains(word) { problems.append("\(text) does not mention \(word)") }
            return problems
        }
    }
}
