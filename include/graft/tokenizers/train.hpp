// graft/tokenizers/train.hpp — learning a vocabulary from a corpus.
//
//   auto tok = tokenizers::train_wordpiece(texts, {.vocab_size = 8000, .special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}});
//   tok.save("tokenizer.json");   // loads in Hugging Face's tokenizers (Python, Rust, JS)
//
// BPE training: the words of the corpus (after the tokenizer's normalizer and pre-tokenizer) start
// as characters; the most frequent pair of neighbours (ties: the smaller pair of strings) is merged
// into a new token, again and again, until the vocabulary has vocab_size entries or no pair occurs
// min_frequency times. The special tokens take the first ids.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "graft/tokenizers/tokenizer.hpp"

namespace graft::tokenizers {

struct TrainOptions {
    std::size_t vocab_size = 8000;  ///< special tokens, alphabet and merges together
    std::size_t min_frequency = 2;  ///< a pair seen fewer times is not merged (nor, for byte fallback, a character kept)
    std::vector<std::string> special_tokens = {};  ///< ids 0, 1, …; normalized never, skipped by decode(skip_special_tokens)
};

/// Byte-level BPE as GPT-2's: ByteLevel pre-tokenizer and decoder, an alphabet of the 256 bytes.
Tokenizer train_bpe(const std::vector<std::string>& corpus, const TrainOptions& options);
/// BPE with byte fallback as Llama-2's: '▁' for spaces and prepended, characters seen fewer than
/// min_frequency times spelled as "<0xXX>" byte tokens, "<unk>" as unk_token when it is among the
/// special tokens, "<s>" put first by the post-processor when it is.
Tokenizer train_byte_fallback_bpe(const std::vector<std::string>& corpus, const TrainOptions& options);
/// WordPiece as BERT's (BertNormalizer lowercasing, BertPreTokenizer, "##" continuations), learnt
/// by BPE; "[UNK]" is the unk_token, [CLS] … [SEP] the template when both are special tokens.
Tokenizer train_wordpiece(const std::vector<std::string>& corpus, const TrainOptions& options);

}  // namespace graft::tokenizers
