// Internal: what a Tokenizer holds, and the pipeline that runs its stages.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graft/tokenizers/tokenizer.hpp"
#include "tokenizers/components.hpp"

namespace graft::tokenizers {

class TokenizerImpl {
public:
    /// Builds every stage from a parsed tokenizer.json (`source` names it in messages).
    TokenizerImpl(const detail::json& j, const std::string& source);

    /// `text` (and `pair`) through the pipeline; with `max_length`, the text's tokens are cut so
    /// that the result, special tokens included, has at most that many.
    Encoding encode(std::string_view text, const std::string_view* pair, bool add_special_tokens,
                    std::optional<std::size_t> max_length) const;
    std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const;
    /// Whether ASCII text takes encode_ascii (tests compare it with the general path).
    bool has_ascii_path() const { return ascii_path_; }

    std::string json_text;  ///< the tokenizer.json as loaded, for to_json
    std::unique_ptr<detail::Normalizer> normalizer;
    std::unique_ptr<detail::PreTokenizer> pre_tokenizer;
    std::unique_ptr<detail::Model> model;
    std::unique_ptr<detail::PostProcessor> post_processor;
    std::unique_ptr<detail::Decoder> decoder;

    struct AddedToken {
        std::u32string content;
        std::int64_t id = 0;
        bool special = false, lstrip = false, rstrip = false, normalized = false;
    };
    std::vector<AddedToken> added;
    std::vector<std::string> special_tokens;  ///< contents of the added tokens marked special

private:
    /// Added-token contents matched in a text, longest first at each position (the reference's
    /// DictionarySplitter).
    struct Splitter {
        std::vector<std::pair<std::u32string, std::size_t>> entries;  ///< content, index in `added`
        std::unordered_map<char32_t, std::vector<std::size_t>> by_first;  ///< entries by first character, longest first
        std::array<bool, 128> ascii_first{};  ///< the ASCII characters some entry starts with
        bool non_ascii_first = false;         ///< whether some entry starts with a character above U+007F
        void add(std::u32string content, std::size_t token);
        void finish();
        /// The index in `added` and length (in characters) of the longest entry matching at `at`,
        /// or nullopt. `s` is code points, or the bytes of ASCII text.
        std::optional<std::pair<std::size_t, std::size_t>> match(const std::u32string& s, std::size_t at) const;
        std::optional<std::pair<std::size_t, std::size_t>> match(std::string_view s, std::size_t at) const;
    };
    struct Section {
        std::size_t begin, end;
        std::optional<std::size_t> added;
    };
    /// `chars` (code points, or the bytes of ASCII text) cut at the added tokens `splitter` holds.
    template <typename Chars>
    std::vector<Section> split_added(const Chars& chars, const Splitter& splitter) const;
    void encode_sequence(std::string_view text, std::vector<detail::Token>& out) const;
    /// encode_sequence on ASCII text with ascii_path_: the normalizer as a table over the bytes,
    /// the pre-tokenizer's and the model's ASCII paths on byte ranges of one buffer, no code
    /// points or per-word strings built.
    void encode_ascii(std::string_view text, std::vector<detail::Token>& out) const;

    Splitter raw_, normalized_;
    /// Whether ASCII text may take encode_ascii: the normalizer (if any) maps each ASCII character
    /// on its own to at most one ASCII character, and the pre-tokenizer (if any) has an ASCII path.
    bool ascii_path_ = false;
    std::array<std::int16_t, 128> ascii_map_{};  ///< the normalizer's ASCII character of each, -1 where it drops it
};

}  // namespace graft::tokenizers
