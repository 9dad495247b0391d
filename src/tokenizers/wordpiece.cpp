// WordPiece: each word split greedily into the longest vocabulary entries from its start, the
// pieces after the first looked up with the continuing prefix ("##"); a word with a part that
// matches nothing, or longer than max_input_chars_per_word characters, is one unk token.
#include <algorithm>

#include "tokenizers/models.hpp"

namespace graft::tokenizers::detail {

namespace {

class WordPiece final : public Model {
public:
    WordPiece(const json& j, const JsonPath& at)
        : vocab_(read_vocab(j, at)),
          unk_token_(string_or(j, "unk_token", "[UNK]", at)),
          prefix_(string_or(j, "continuing_subword_prefix", "##", at)),
          max_chars_(static_cast<std::size_t>(int_or(j, "max_input_chars_per_word", 100, at))) {
        // The continuations by what follows the prefix, so that a lookup needs no string built;
        // and the longest entries, so that candidates longer than any entry are not looked up.
        for (const auto& [token, id] : vocab_.ids) {
            max_bytes_ = std::max(max_bytes_, token.size());
            if (token.size() >= prefix_.size() && token.compare(0, prefix_.size(), prefix_) == 0) {
                const std::string rest = token.substr(prefix_.size());
                continuations_.ids[rest] = id;
                max_continuation_bytes_ = std::max(max_continuation_bytes_, rest.size());
            }
        }
    }

    void tokenize(const std::vector<Text>& words, std::vector<Token>& out) const override {
        std::string word;
        std::vector<std::size_t> byte_at;  // byte offset in `word` of each character, and the end
        for (const Text& w : words) {
            if (w.empty()) continue;
            if (w.size() > max_chars_) {
                out.push_back({unk(), join_spans(w.spans, 0, w.size())});
                continue;
            }
            word.clear();
            byte_at.clear();
            for (char32_t c : w.chars) {
                byte_at.push_back(word.size());
                append_utf8(word, c);
            }
            byte_at.push_back(word.size());
            split_word(word, w.size(), [&](std::size_t c) { return byte_at[c]; },
                       [&](std::size_t b, std::size_t e) { return join_spans(w.spans, b, e); }, out);
        }
    }
    void tokenize_ascii(std::string_view text, const std::uint32_t* origin, const std::vector<ByteRange>& words,
                        std::vector<Token>& out) const override {
        for (const ByteRange& w : words) {
            if (w.begin == w.end) continue;
            const std::uint32_t* at = origin + w.begin;
            split_word(text.substr(w.begin, w.end - w.begin), w.end - w.begin, [](std::size_t c) { return c; },
                       [at](std::size_t b, std::size_t e) { return Span{at[b], at[e - 1] + 1}; }, out);
        }
    }
    Vocab& vocab() override { return vocab_; }
    const Vocab& vocab() const override { return vocab_; }
    std::optional<std::int64_t> unk_id() const override { return vocab_.find(unk_token_); }

private:
    // Splits `word` (`chars` characters, the k-th starting at byte byte_at(k)); span(b, e) is the
    // span of characters [b, e) in the original text.
    template <typename ByteAt, typename SpanOf>
    void split_word(std::string_view word, std::size_t chars, ByteAt byte_at, SpanOf span, std::vector<Token>& out) const {
        if (chars > max_chars_) {
            out.push_back({unk(), span(0, chars)});
            return;
        }
        const std::size_t first = out.size();
        for (std::size_t start = 0; start < chars;) {
            const Vocab& table = start > 0 ? continuations_ : vocab_;
            const std::size_t longest = start > 0 ? max_continuation_bytes_ : max_bytes_;
            std::size_t end = chars;
            while (end > start && byte_at(end) - byte_at(start) > longest) --end;
            std::optional<std::int64_t> id;
            for (; end > start; --end) {
                id = table.find(word.substr(byte_at(start), byte_at(end) - byte_at(start)));
                if (id) break;
            }
            if (!id) {
                out.resize(first);
                out.push_back({unk(), span(0, chars)});
                return;
            }
            out.push_back({*id, span(start, end)});
            start = end;
        }
    }
    std::int64_t unk() const {
        auto id = vocab_.find(unk_token_);
        if (!id) throw TokenizerError("WordPiece: a word matches no vocabulary entry and the unk_token \"" + unk_token_ + "\" is not in the vocabulary");
        return *id;
    }
    Vocab vocab_;
    Vocab continuations_;  // only `ids`: the entries that start with the prefix, keyed without it
    std::string unk_token_, prefix_;
    std::size_t max_chars_;
    std::size_t max_bytes_ = 0, max_continuation_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(const json& j, const JsonPath& at) { return std::make_unique<WordPiece>(j, at); }

}  // namespace graft::tokenizers::detail
