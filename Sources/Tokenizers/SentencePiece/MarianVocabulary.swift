import Foundation
import TextIO

/// A Marian `vocab.json` (or `target_vocab.json`): piece → id, as transformers' MarianTokenizer
/// loads it with `json.load` — a key given twice keeps its last id, the reverse map gives each id
/// the last piece that has it — with keys compared byte for byte, as Python compares strings
/// (a Swift `String` key would merge canonically equivalent pieces).
struct MarianVocabulary: Sendable {
    /// Where it came from, for messages.
    let source: String
    private let ids: ByteKeyTable<Int32>
    /// id → piece.
    private let pieces: [[UInt8]?]

    init(contentsOf url: URL) throws {
        let source = url.relativePath
        let json: JSON
        do {
            json = try JSON.parse([UInt8](TokenizerError.readFile(url)))
        } catch let error as JSONSyntaxError {
            throw TokenizerError(source: source, message: error.message)
        }
        guard case .object(let members) = json else {
            throw TokenizerError(source: source, message: "expected an object of piece → id, found \(json.kind)")
        }
        try self.init(members: members, source: source)
    }

    init(members: [(key: String, value: JSON)], source: String) throws {
        self.source = source
        var ids = ByteKeyTable<Int32>(capacity: members.count)
        for (key, value) in members {
            // An id written as a whole number, however spelled (`7`, `7.0`, `7e0`: json.load reads
            // the last two as floats, which transformers uses as the same ids).
            guard case .number(let number) = value, number.double >= 0, number.double < Double(Int32.max),
                  number.double.rounded() == number.double else {
                let found = if case .number(let number) = value { number.text } else { value.kind }
                throw TokenizerError(source: source, message: "the id of \(JSON.quoted(key)) is \(found), not a non-negative whole number")
            }
            let id = Int32(number.double)
            let (index, inserted) = ids.insert(key: key.utf8, id)
            if !inserted { ids.setValue(id, at: index) }
        }
        var pieces = [[UInt8]?](repeating: nil, count: Int(ids.values.max() ?? -1) + 1)
        for index in 0..<ids.count { pieces[Int(ids.values[index])] = Array(ids.key(at: index)) }
        self.ids = ids
        self.pieces = pieces
    }

    /// The id of a piece, or nil.
    func id(of piece: UnsafeBufferPointer<UInt8>) -> Int? {
        ids.value(for: piece).map(Int.init)
    }

    func id<Bytes: Collection<UInt8>>(of piece: Bytes) -> Int? {
        ids.value(forKey: piece).map(Int.init)
    }

    /// The piece of an id, or nil when no piece has it.
    func piece(for id: Int) -> [UInt8]? {
        pieces.indices.contains(id) ? pieces[id] : nil
    }

    /// One more than the largest id: the embedding rows the vocabulary needs.
    var size: Int { pieces.count }

    /// The number of pieces (transformers' `vocab_size`).
    var count: Int { ids.count }
}
