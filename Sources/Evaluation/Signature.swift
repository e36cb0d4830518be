/// sacreBLEU's reproducibility signatures: `key:value` fields joined by `|`, in the order sacreBLEU
/// 2.x prints them (`nrefs` first, the metric's own fields, `version` last).
///
/// The `version` field names the sacreBLEU release whose numbers our tests reproduce, marked
/// `-compatible`: a score computed here is not one computed by sacreBLEU, but it should be the same
/// number, and anyone reading the signature can tell which definition was followed.
enum Signature {
    static let version = "2.6.0-compatible"

    /// `nrefs`: the number of references of every segment, or `var` when segments have different
    /// numbers of references.
    static func referenceCount(_ references: [[String]]) -> String {
        let counts = Set(references.map(\.count))
        return counts.count == 1 ? String(counts.first!) : "var"
    }

    /// The fields joined: `nrefs:…|<fields>|version:…`.
    static func format(references: [[String]], fields: KeyValuePairs<String, String>) -> String {
        let all = [("nrefs", referenceCount(references))] + fields.map { ($0.key, $0.value) } + [("version", version)]
        return all.map { "\($0.0):\($0.1)" }.joined(separator: "|")
    }

    static func caseField(lowercase: Bool) -> String { lowercase ? "lc" : "mixed" }
}
