import Tokenizers

/// What a model accepts as input: ids from a tokenizer that agrees with it, sequences that fit its
/// positions. Every path into the model (translation, training, inspection) checks through here.
extension ModelConfig {
    /// Throws unless `tokenizer` has the model's vocabulary sizes and special ids (config.json's
    /// vocab_size, decoder_vocab_size, eos_token_id, pad_token_id): otherwise ids would mean other pieces.
    public func checkAgreement(with tokenizer: any TranslationTokenizer) throws {
        guard tokenizer.sourceVocabularySize == vocabularySize else {
            throw ModelError("\(tokenizer.source): \(tokenizer.sourceVocabularySize) tokens, but the model's config.json says vocab_size \(vocabularySize)")
        }
        guard tokenizer.targetVocabularySize == targetVocabularySize else {
            throw ModelError("\(tokenizer.source): \(tokenizer.targetVocabularySize) target tokens, but the model's config.json says decoder_vocab_size \(targetVocabularySize)")
        }
        guard tokenizer.eosId == eosId, tokenizer.padId == padId else {
            throw ModelError("\(tokenizer.source): </s> is \(tokenizer.eosId) and <pad> \(tokenizer.padId), but config.json says eos_token_id \(eosId) and pad_token_id \(padId)")
        }
    }

    /// `ids` (a sequence ending with EOS) when it fits the model's positions; otherwise its first
    /// maxPositions − 1 ids and EOS, with `truncated` set.
    public func fitted(_ ids: [Int]) -> (ids: [Int], truncated: Bool) {
        guard ids.count > maxPositions else { return (ids, false) }
        return (Array(ids.prefix(maxPositions - 1)) + [eosId], true)
    }
}
