// graft/tokenizers/tokenizer.hpp — Hugging Face tokenizer.json files run in C++.
//
//   auto tok = graft::tokenizers::Tokenizer::from_file("tokenizer.json");
//   auto enc = tok.encode("Hello world");             // enc.ids, enc.tokens, enc.offsets, …
//   std::string text = tok.decode(enc.ids);
//   auto batch = tok.encode_batch({"a b", "c"}, {.padding = tokenizers::Padding::Longest});
//   model(batch.input_ids, batch.attention_mask);      // int64 [B, T]
//
// The pipeline is the one of Hugging Face's tokenizers, and its behaviour that of the JS port
// (npm @huggingface/tokenizers), the reference the goldens are generated with: the input is cut at
// added tokens, each other piece is normalized, pre-tokenized and split by the model into tokens,
// then the post-processor adds the special tokens. Supported components (anything else in a
// tokenizer.json is a TokenizerError naming the type and its JSON path):
//   normalizers     BertNormalizer, Lowercase, StripAccents, NFC, NFD, NFKC, NFKD, Strip,
//                   Prepend, Replace (String patterns), Precompiled, Sequence
//   pre-tokenizers  ByteLevel (GPT-2's regex), BertPreTokenizer, Metaspace, Whitespace,
//                   WhitespaceSplit, Split (Regex or String), Punctuation, Digits, Sequence
//   models          BPE (byte-level or with byte_fallback, merges with ranks), WordPiece, Unigram
//   post-processors TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence
//   decoders        ByteLevel, WordPiece, Metaspace, ByteFallback, Fuse, Strip, Replace
//                   (String patterns), BPEDecoder, Sequence
// Input text must be valid UTF-8; anything else is a TokenizerError naming the byte offset.
// A Tokenizer is immutable once built: encode and decode may run on many threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graft/error.hpp"
#include "graft/tensor.hpp"

namespace graft::tokenizers {

/// A tokenizer file that cannot be read or used, text that is not UTF-8, an id outside the
/// vocabulary: the message names the file or JSON path, the component type and the values.
class TokenizerError : public Error {
public:
    using Error::Error;
};

/// One encoded text.
struct Encoding {
    std::vector<std::int64_t> ids;
    std::vector<std::string> tokens;  ///< the vocabulary strings of `ids` ("Ġworld", "##ing", "<0x0A>")
    /// [begin, end) byte offsets into the UTF-8 text each token came from (Hugging Face's Rust
    /// convention). A token always covers whole characters of the original text: one that holds
    /// only some bytes of a character (byte-level BPE, byte fallback) covers that character, and a
    /// character changed by normalization ("É" lowercased and stripped to "e") is the token's span.
    /// Special tokens added by the post-processor have (0, 0).
    std::vector<std::pair<std::size_t, std::size_t>> offsets;
    std::vector<std::int64_t> attention_mask;  ///< 1 per token (padding is added by encode_batch)
    std::vector<std::int64_t> type_ids;        ///< 0 for the first text, 1 for the pair (BERT)
    std::vector<std::int64_t> special_tokens_mask;  ///< 1 for tokens the post-processor added
};

enum class Padding {
    Longest,    ///< pad to the longest row of the batch
    MaxLength,  ///< pad every row to max_length (a row longer than it without truncation: TokenizerError)
    None,       ///< no tensors: the rows only in `encodings`, for a caller that pads later (per batch)
};

/// Options of encode_batch.
struct BatchOptions {
    Padding padding = Padding::Longest;
    /// The row length for Padding::MaxLength, and the truncation length when `truncation` is set.
    std::optional<std::size_t> max_length = std::nullopt;
    /// Cut each text to max_length tokens, special tokens included: the text's tokens are cut
    /// (from the end; of a pair, from the longer one first) and the special tokens kept, as
    /// Hugging Face's longest_first truncation does.
    bool truncation = false;
    bool add_special_tokens = true;
    /// The id written into padding positions; default: the tokenizer's pad_id().
    std::optional<std::int64_t> pad_id = std::nullopt;
};

/// encode_batch's result: int64 tensors [B, T] ready for a model (undefined with Padding::None).
struct BatchEncoding {
    Tensor input_ids;
    Tensor attention_mask;  ///< 1 on tokens, 0 on padding
    Tensor token_type_ids;
    std::vector<Encoding> encodings;  ///< per row, after truncation, before padding
};

class TokenizerImpl;

class Tokenizer {
public:
    /// Loads a Hugging Face tokenizer.json (gzip-compressed files are read too).
    static Tokenizer from_file(const std::filesystem::path& path);
    /// Parses the text of a tokenizer.json; `source` names it in error messages.
    static Tokenizer from_json(std::string_view json, const std::string& source = "<string>");
    /// GPT-2's original pair: encoder.json (token → id) and vocab.bpe (the merges, best first),
    /// with GPT-2's byte-level pre-tokenizer and decoder and "<|endoftext|>" as a special token.
    static Tokenizer from_gpt2_files(const std::filesystem::path& encoder_json, const std::filesystem::path& vocab_bpe);

    /// The text encoded; with add_special_tokens the post-processor's tokens ([CLS] … [SEP]) too.
    Encoding encode(std::string_view text, bool add_special_tokens = true) const;
    /// A pair of texts (BERT's sentence A and B, type ids 0 and 1).
    Encoding encode_pair(std::string_view text, std::string_view pair, bool add_special_tokens = true) const;
    /// Every text encoded (on all threads, each taking texts as it finishes its last) and, unless
    /// options.padding is Padding::None, padded into int64 [B, T] tensors.
    BatchEncoding encode_batch(const std::vector<std::string>& texts, const BatchOptions& options = {}) const;
    /// The text of `ids`, through the decoder; special tokens left out with skip_special_tokens.
    std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens = false) const;

    /// The id of a token (vocabulary or added), or nullopt.
    std::optional<std::int64_t> token_to_id(std::string_view token) const;
    /// The string of an id; TokenizerError for an id outside the vocabulary.
    std::string id_to_token(std::int64_t id) const;
    /// Number of ids: the model's vocabulary and the added tokens.
    std::size_t vocab_size() const;
    /// The padding id used by encode_batch: the id of "[PAD]", "<pad>", "<|endoftext|>" or "</s>"
    /// (the first found), else 0.
    std::int64_t pad_id() const;

    /// Writes the tokenizer as a tokenizer.json the reference implementations load.
    void save(const std::filesystem::path& path) const;
    /// The tokenizer.json text save writes.
    std::string to_json() const;

    explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl);
    const TokenizerImpl& impl() const { return *impl_; }

private:
    std::shared_ptr<const TokenizerImpl> impl_;
};

}  // namespace graft::tokenizers
