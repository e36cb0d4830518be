/// Text ↔ ids: normalization, Metaspace pre-tokenization, BPE with byte fallback, tokenizer.json.
public enum TokenizersModule {}
