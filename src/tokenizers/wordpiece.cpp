// WordPiece: each word split greedily into the longest vocabulary entries from its start, the
// pieces after the first looked up with the continuing prefix ("##"); a word with a part that
// matches nothing, or longer than max_input_chars_per_word characters, is one unk token.
#include <algorithm>
#include <iterator>

#include "tokenizers/models.hpp"
#include "tokenizers/piece_table.hpp"

namespace graft::tokenizers::detail {

namespace {

class WordPiece final : public Model {
public:
    WordPiece(const json& j, const JsonPath& at)
        : vocab_(read_vocab(j, at)),
          unk_token_(string_or(j, "unk_token", "[UNK]", at)),
          prefix_(string_or(j, "continuing_subword_prefix", "##", at)),
          max_chars_(static_cast<std::size_t>(int_or(j, "max_input_chars_per_word", 100, at))) {
        // The continuations by what follows the prefix, so that a lookup needs no string built.
        std::vector<std::pair<std::string, std::int64_t>> rests;
        for (const auto& [token, id] : vocab_.ids)
            if (token.size() >= prefix_.size() && token.compare(0, prefix_.size(), prefix_) == 0)
                rests.emplace_back(token.substr(prefix_.size()), id);
        continuations_ = PieceTable(rests);
    }
    // The first pieces are looked up among the vocabulary with the added tokens.
    void finish_vocab() override {
        whole_ = PieceTable(std::vector<std::pair<std::string, std::int64_t>>(vocab_.ids.begin(), vocab_.ids.end()));
        unk_id_ = vocab_.find(unk_token_);
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
    // span of characters [b, e) in the original text. The candidates from `start` are tried
    // longest first, with the hashes of all of them from one pass over their bytes.
    template <typename ByteAt, typename SpanOf>
    void split_word(std::string_view word, std::size_t chars, ByteAt byte_at, SpanOf span, std::vector<Token>& out) const {
        if (chars > max_chars_) {
            out.push_back({unk(), span(0, chars)});
            return;
        }
        const std::size_t first = out.size();
        // hashes[n]: of the n bytes from `start`; on the heap only for candidates of 64 bytes and more.
        std::uint64_t on_stack[64];
        std::vector<std::uint64_t> on_heap;
        for (std::size_t start = 0; start < chars;) {
            const PieceTable& table = start > 0 ? continuations_ : whole_;
            const std::size_t from = byte_at(start);
            const std::size_t reach = std::min(word.size() - from, table.longest());
            std::uint64_t* hashes = on_stack;
            if (reach >= std::size(on_stack)) {
                if (on_heap.size() <= reach) on_heap.resize(reach + 1);
                hashes = on_heap.data();
            }
            hashes[0] = PieceTable::kStart;
            for (std::size_t n = 0; n < reach; ++n) hashes[n + 1] = PieceTable::step(hashes[n], static_cast<unsigned char>(word[from + n]));
            std::size_t end = chars;
            while (end > start && byte_at(end) - from > reach) --end;
            std::int64_t id = -1;
            for (; end > start; --end) {
                const std::size_t n = byte_at(end) - from;
                id = table.find(word.substr(from, n), hashes[n]);
                if (id >= 0) break;
            }
            if (id < 0) {
                out.resize(first);
                out.push_back({unk(), span(0, chars)});
                return;
            }
            out.push_back({id, span(start, end)});
            start = end;
        }
    }
    std::int64_t unk() const {
        const auto& id = unk_id_;
        if (!id) throw TokenizerError("WordPiece: a word matches no vocabulary entry and the unk_token \"" + unk_token_ + "\" is not in the vocabulary");
        return *id;
    }
    Vocab vocab_;
    PieceTable whole_;          // the vocabulary, for the first piece of a word
    PieceTable continuations_;  // the entries that start with the prefix, keyed without it
    std::optional<std::int64_t> unk_id_;
    std::string unk_token_, prefix_;
    std::size_t max_chars_;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(const json& j, const JsonPath& at) { return std::make_unique<WordPiece>(j, at); }

}  // namespace graft::tokenizers::detail
