// Internal: the stages of the pipeline (normalizer, pre-tokenizer, model, post-processor,
// decoder) as the JS reference runs them, and the factories that build each from its
// tokenizer.json object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/json_fields.hpp"
#include "tokenizers/unicode.hpp"

namespace graft::tokenizers::detail {

/// A token with its place in the original text.
struct Token {
    std::int64_t id = 0;
    Span span;
    bool special = false;  ///< added by the post-processor
};

/// [begin, end) bytes of an ASCII buffer (the ASCII path's words).
struct ByteRange {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
};

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual Text normalize(const Text& text) const = 0;
    /// Whether, on ASCII text, each character is normalized on its own (to nothing or to one
    /// ASCII character, whatever surrounds it), so that a table of what normalize does to each
    /// ASCII character stands for it on ASCII text: TokenizerImpl's ASCII path.
    virtual bool ascii_per_character() const { return false; }
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    /// Appends the pieces of `text`; `section` is the index of the piece of input between added
    /// tokens (Metaspace's prepend_scheme "first" looks at it).
    virtual void split(const Text& text, std::size_t section, std::vector<Text>& out) const = 0;
    /// Whether TokenizerImpl's ASCII path may use split_ascii: on ASCII text the pre-tokenizer only
    /// cuts (no character rewritten or added, nothing depending on `section`).
    virtual bool has_ascii_path() const { return false; }
    /// The words split cuts ASCII `text` into, appended as byte ranges of `text` shifted by
    /// `base`. This one runs split and reads the ranges off the pieces' spans; pre-tokenizers
    /// override it with a pass over the bytes.
    virtual void split_ascii(std::string_view text, std::uint32_t base, std::vector<ByteRange>& out) const;
};

/// token string → id, id → token string, shared by the model and the added tokens.
struct Vocab {
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> ids;
    std::vector<std::string> tokens;  ///< by id; "" where no token has the id

    std::optional<std::int64_t> find(std::string_view token) const {
        auto it = ids.find(token);
        if (it == ids.end()) return std::nullopt;
        return it->second;
    }
    void set(const std::string& token, std::int64_t id);
};

class Model {
public:
    virtual ~Model() = default;
    /// Appends the tokens of the words (pre-tokenizer pieces) of one section of input.
    virtual void tokenize(const std::vector<Text>& words, std::vector<Token>& out) const = 0;
    /// What tokenize does to the ASCII words `words` of `text`, where text[i] stands for the
    /// original byte origin[i]. This one builds the words' Texts and runs tokenize; models
    /// override it to read the bytes in place.
    virtual void tokenize_ascii(std::string_view text, const std::uint32_t* origin, const std::vector<ByteRange>& words,
                                std::vector<Token>& out) const;
    /// Called once the added tokens are in vocab(): models that index the vocabulary for their
    /// lookups build the index here.
    virtual void finish_vocab() {}
    /// The model's json, for to_json (with the vocabulary as it was loaded).
    virtual Vocab& vocab() = 0;
    virtual const Vocab& vocab() const = 0;
    /// Appended to the last token of a word by BPE's end_of_word_suffix ("" when none).
    virtual std::string end_of_word_suffix() const { return {}; }
    virtual std::optional<std::int64_t> unk_id() const = 0;
};

/// A sequence in the post-processor: its tokens and their type ids.
struct Sequence {
    std::vector<Token> tokens;
    std::vector<std::int64_t> type_ids;
};

/// token string → id (added tokens first, then the model's vocabulary), for special tokens.
using TokenResolver = std::function<std::int64_t(const std::string& token, const JsonPath& at)>;

class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    /// Adds the special tokens to `a` (and `b` when there is a pair), merging `b` into `a` and
    /// resetting it when the processor joins the pair.
    virtual void process(Sequence& a, std::optional<Sequence>& b, bool add_special_tokens) const = 0;
};

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

std::unique_ptr<Normalizer> make_normalizer(const json& j, const JsonPath& at);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const JsonPath& at);
std::unique_ptr<Model> make_model(const json& j, const JsonPath& at);
std::unique_ptr<PostProcessor> make_post_processor(const json& j, const JsonPath& at, const TokenResolver& resolve);
/// `added_tokens`: the contents of the added tokens (ByteLevel passes them through as text).
std::unique_ptr<Decoder> make_decoder(const json& j, const JsonPath& at, const std::vector<std::string>& added_tokens);

}  // namespace graft::tokenizers::detail
