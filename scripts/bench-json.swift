// TextIO's JSON parser against Foundation's on tokenizer.json and a safetensors header (docs/DESIGN.md,
// "Text in and out"). Built and run by scripts/bench-json.sh.
import Foundation

func median(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var t: [Double] = []
    for _ in 0..<repeats { let s = DispatchTime.now().uptimeNanoseconds; try body(); t.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6) }
    t.sort(); return t[t.count / 2]
}
struct TokFile: Decodable {
    struct Model: Decodable { var type: String; var vocab: [String: Int]; var merges: [[String]] }
    struct Added: Decodable { var id: Int; var content: String; var special: Bool }
    var model: Model; var added_tokens: [Added]
}
struct Entry: Decodable { var dtype: String; var shape: [Int]; var data_offsets: [Int] }
struct AnyEntry: Decodable {
    var entry: Entry?; var meta: [String: String]?
    init(from d: Decoder) throws { if let e = try? Entry(from: d) { entry = e } else { meta = try [String: String](from: d) } }
}
let tok = try Data(contentsOf: URL(fileURLWithPath: CommandLine.arguments[1]))
let st = try Data(contentsOf: URL(fileURLWithPath: CommandLine.arguments[2]))
let n = Int(st.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
let header = st[8..<(8+n)]
let hbytes = [UInt8](header), tbytes = [UInt8](tok)
let r = 21
for round in 1...3 {
print(String(format: "round %d | tokenizer.json (%d bytes): TextIO JSON.parse %.2f ms, JSONSerialization %.2f ms, JSONDecoder %.2f ms | safetensors header (%d bytes): TextIO %.3f ms, JSONSerialization %.3f ms, JSONDecoder %.3f ms", round, tok.count,
  median(r) { _ = try! JSON.parse(tbytes) }, median(r) { _ = try! JSONSerialization.jsonObject(with: tok) }, median(r) { _ = try! JSONDecoder().decode(TokFile.self, from: tok) },
  n, median(r) { _ = try! JSON.parse(hbytes, maximumDepth: 64) }, median(r) { _ = try! JSONSerialization.jsonObject(with: header) }, median(r) { _ = try! JSONDecoder().decode([String: AnyEntry].self, from: header) }))
}
