import Foundation

/// The `expected.json` of the opus-mt fixtures (../shared/fixtures/README.md): transformers'
/// MarianTokenizer ids and `generate` outputs.
public struct OpusMTExpected: Decodable {
    /// `MarianTokenizer(text).input_ids`, `</s>` included.
    public struct TokenizeCase: Decodable {
        public let text: String
        public let ids: [Int]
    }

    /// Greedy and beam-4 ids (starting with the decoder start token), texts and beam score.
    public struct GenerateCase: Decodable {
        public let source: String
        public let greedy_ids: [Int]
        public let greedy_text: String
        public let beam4_ids: [Int]
        public let beam4_score: Double
        public let beam4_text: String
    }

    public let tokenize: [TokenizeCase]
    public let generate: [GenerateCase]

    /// The cases of fixture folder `folder` (`opus-mt-tiny`, `opus-mt-tiny-separate`).
    public static func load(_ folder: String) throws -> OpusMTExpected {
        try JSONDecoder().decode(OpusMTExpected.self, from: Data(contentsOf: Fixtures.url("\(folder)/expected.json")))
    }
}
