import TextIO

/// One step of a tokenizer.json `decoder`. Each step maps the list of token strings to a new
/// list, as tokenizers' `decode_chain` does; the final list is joined without separators.
enum DecoderStep: Sendable, Equatable {
    /// Every occurrence of `pattern` in each token becomes `content`.
    case replace(pattern: String, content: String)
    /// Runs of `<0xNN>` tokens become the text of their bytes (U+FFFD per byte if invalid UTF-8).
    case byteFallback
    /// All tokens joined into one.
    case fuse
    /// Up to `start` leading and `stop` trailing `content` scalars removed from each token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    /// "▁" back to " "; in the first token the "▁"s are dropped unless the scheme is `never`.
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)

    func apply(_ tokens: [String]) -> [String] {
        switch self {
        case .replace(let pattern, let content):
            return tokens.map { $0.replacingAll(pattern, with: content) }
        case .byteFallback:
            return joiningByteTokens(tokens)
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var scalars = Substring(token).unicodeScalars
                for _ in 0..<start where scalars.first == content { scalars.removeFirst() }
                for _ in 0..<stop where scalars.last == content { scalars.removeLast() }
                return String(scalars)
            }
        case .metaspace(let replacement, let prependScheme):
            // Scalars, not Characters: a "▁" followed by a combining mark is still a "▁".
            return tokens.enumerated().map { index, token in
                var out = String.UnicodeScalarView()
                for scalar in token.unicodeScalars {
                    if scalar != replacement {
                        out.append(scalar)
                    } else if index != 0 || prependScheme == .never {
                        out.append(" ")
                    }
                }
                return String(out)
            }
        }
    }

    private func joiningByteTokens(_ tokens: [String]) -> [String] {
        var result: [String] = []
        var bytes: [UInt8] = []
        func flush() {
            guard !bytes.isEmpty else { return }
            result.append(String(validatingUTF8Bytes: bytes) ?? String(repeating: "\u{FFFD}", count: bytes.count))
            bytes.removeAll()
        }
        for token in tokens {
            if let byte = byteOfToken(token) {
                bytes.append(byte)
            } else {
                flush()
                result.append(token)
            }
        }
        flush()
        return result
    }
}

extension String {
    /// Every occurrence of `pattern` (compared as UTF-8 bytes, not as canonically equivalent
    /// characters) replaced with `replacement`.
    func replacingAll(_ pattern: String, with replacement: String) -> String {
        let pattern = Array(pattern.utf8)
        let text = Array(utf8)
        guard !pattern.isEmpty, text.count >= pattern.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == pattern[0], text[i...].starts(with: pattern) {
                out.append(contentsOf: replacement.utf8)
                i += pattern.count
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
