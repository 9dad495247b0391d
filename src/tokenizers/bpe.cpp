// BPE: each word starts as its characters and the best-ranked merge of two neighbours is applied
// until none applies (equal ranks: the leftmost first). A final piece missing from the vocabulary
// becomes its bytes as "<0xXX>" tokens with byte_fallback, else the unk token.
#include <atomic>
#include <queue>

#include "tokenizers/models.hpp"

namespace graft::tokenizers::detail {

namespace {

constexpr std::int32_t kNoSymbol = -1;

class BPE final : public Model {
public:
    BPE(const json& j, const JsonPath& at)
        : vocab_(read_vocab(j, at)),
          unk_token_(string_or(j, "unk_token", "", at)),
          end_of_word_suffix_(string_or(j, "end_of_word_suffix", "", at)),
          continuing_subword_suffix_(string_or(j, "continuing_subword_suffix", "", at)),
          fuse_unk_(bool_or(j, "fuse_unk", false, at)),
          byte_fallback_(bool_or(j, "byte_fallback", false, at)),
          ignore_merges_(bool_or(j, "ignore_merges", false, at)) {
        auto dropout = j.find("dropout");
        if (dropout != j.end() && !dropout->is_null() && !(dropout->is_number() && dropout->get<double>() == 0.0))
            (at / "dropout").fail("BPE dropout is not supported (found " + dropout->dump() + ")");
        for (const auto& [token, id] : vocab_.ids) symbol(token);
        const JsonPath merges_at = at / "merges";
        auto merges = j.find("merges");
        if (merges == j.end() || !merges->is_array()) at.fail("BPE needs a \"merges\" array");
        merges_.reserve(merges->size());
        for (std::size_t rank = 0; rank < merges->size(); ++rank) {
            const json& m = (*merges)[rank];
            std::string left, right;
            if (m.is_string()) {
                const std::string& s = m.get_ref<const std::string&>();
                const auto space = s.find(' ');
                if (space == std::string::npos) merges_at[rank].fail("expected \"left right\", found \"" + s + "\"");
                left = s.substr(0, space);
                right = s.substr(space + 1, s.find(' ', space + 1) - space - 1);
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                left = m[0].get<std::string>();
                right = m[1].get<std::string>();
            } else {
                merges_at[rank].fail("expected \"left right\" or [\"left\", \"right\"], found " + m.dump());
            }
            const std::int32_t a = symbol(left), b = symbol(right), merged = symbol(left + right);
            merges_[pair_key(a, b)] = Merge{static_cast<std::int32_t>(rank), merged};  // a repeated pair: the last rank, as the reference
        }
        for (char32_t c = 0; c < kDirect; ++c) {
            std::string s;
            append_utf8(s, c);
            auto it = symbols_.find(s);
            direct_[c] = it == symbols_.end() ? kNoSymbol : it->second;
        }
    }

    void tokenize(const std::vector<Text>& words, std::vector<Token>& out) const override {
        const std::size_t first = out.size();
        std::vector<Piece> pieces;
        for (const Text& w : words) {
            if (w.empty()) continue;
            if (ignore_merges_) {
                if (auto id = vocab_.find(to_utf8(w.chars))) {
                    out.push_back({*id, join_spans(w.spans, 0, w.size())});
                    continue;
                }
            }
            tokenize_word(w, pieces, out);
        }
        if (fuse_unk_) {
            if (const auto unk = unk_id()) fuse_unknowns(out, first, *unk);
        }
    }
    Vocab& vocab() override { return vocab_; }
    const Vocab& vocab() const override { return vocab_; }
    std::string end_of_word_suffix() const override { return end_of_word_suffix_; }

    std::optional<std::int64_t> unk_id() const override {
        if (unk_token_.empty()) return std::nullopt;
        return vocab_.find(unk_token_);
    }

private:
    struct Merge {
        std::int32_t rank;
        std::int32_t merged;
    };
    // A piece of the word being merged: its symbol (kNoSymbol for a character that appears in
    // no vocabulary entry or merge), characters [begin, end) of the word, and its neighbours.
    struct Piece {
        std::int32_t symbol;
        std::uint32_t begin, end;
        std::int32_t prev, next;
    };
    static constexpr char32_t kDirect = 0x800;

    static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
    }
    std::int32_t symbol(const std::string& s) {
        auto [it, inserted] = symbols_.try_emplace(s, static_cast<std::int32_t>(symbol_strings_.size()));
        if (inserted) {
            symbol_strings_.push_back(s);
            auto id = vocab_.find(s);
            symbol_ids_.push_back(id ? *id : -1);
        }
        return it->second;
    }
    std::int32_t lookup(const std::string& s) const {
        auto it = symbols_.find(s);
        return it == symbols_.end() ? kNoSymbol : it->second;
    }
    std::int32_t char_symbol(char32_t c, bool last) const {
        if (last && !end_of_word_suffix_.empty()) {
            std::string s;
            append_utf8(s, c);
            return lookup(s + end_of_word_suffix_);
        }
        if (c < kDirect) return direct_[c];
        std::string s;
        append_utf8(s, c);
        return lookup(s);
    }

    // Words repeat (" the", " of"): each thread keeps the tokens of the words it has seen, as
    // (id, first character, end character) of the word, for the model it last served.
    struct CachedToken {
        std::int64_t id;
        std::uint32_t begin, end;
    };
    struct WordCache {
        std::uint64_t model = 0;
        std::unordered_map<std::u32string, std::vector<CachedToken>> words;
    };
    static constexpr std::size_t kCacheWords = 1 << 16;
    static constexpr std::size_t kCacheWordChars = 64;

    void tokenize_word(const Text& w, std::vector<Piece>& pieces, std::vector<Token>& out) const {
        thread_local WordCache cache;
        if (cache.model != serial_) {
            cache.words.clear();
            cache.model = serial_;
        }
        const bool cacheable = w.size() <= kCacheWordChars;
        if (cacheable) {
            auto hit = cache.words.find(w.chars);
            if (hit != cache.words.end()) {
                for (const CachedToken& t : hit->second) out.push_back({t.id, join_spans(w.spans, t.begin, t.end)});
                return;
            }
        }
        merge_word(w, pieces);
        const std::size_t first = out.size();
        emit(w, pieces, out);
        if (!cacheable) return;
        // Cache only words whose tokens map back to whole pieces (every token of one piece).
        std::vector<CachedToken> tokens;
        std::size_t k = first;
        for (std::int32_t i = 0; i >= 0; i = pieces[static_cast<std::size_t>(i)].next) {
            const Piece& p = pieces[static_cast<std::size_t>(i)];
            const Span span = join_spans(w.spans, p.begin, p.end);
            for (; k < out.size() && out[k].span.begin == span.begin && out[k].span.end == span.end; ++k)
                tokens.push_back({out[k].id, p.begin, p.end});
        }
        if (k != out.size()) return;
        if (cache.words.size() >= kCacheWords) cache.words.clear();
        cache.words.emplace(w.chars, std::move(tokens));
    }

    void merge_word(const Text& w, std::vector<Piece>& pieces) const {
        const auto n = static_cast<std::int32_t>(w.size());
        pieces.resize(w.size());
        for (std::int32_t i = 0; i < n; ++i)
            pieces[static_cast<std::size_t>(i)] = {char_symbol(w.chars[static_cast<std::size_t>(i)], i == n - 1),
                                                   static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i) + 1, i - 1,
                                                   i + 1 < n ? i + 1 : -1};
        // (rank, position of the left piece, the merged symbol expected): smallest first.
        using Candidate = std::tuple<std::int32_t, std::int32_t, std::int32_t>;
        std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
        auto consider = [&](std::int32_t left) {
            const Piece& a = pieces[static_cast<std::size_t>(left)];
            if (a.next < 0 || a.symbol == kNoSymbol) return;
            const Piece& b = pieces[static_cast<std::size_t>(a.next)];
            if (b.symbol == kNoSymbol) return;
            auto it = merges_.find(pair_key(a.symbol, b.symbol));
            if (it != merges_.end()) queue.emplace(it->second.rank, left, it->second.merged);
        };
        for (std::int32_t i = 0; i + 1 < n; ++i) consider(i);
        while (!queue.empty()) {
            const auto [rank, left, merged] = queue.top();
            queue.pop();
            Piece& a = pieces[static_cast<std::size_t>(left)];
            if (a.begin == a.end || a.next < 0) continue;  // merged away, or nothing to its right now
            Piece& b = pieces[static_cast<std::size_t>(a.next)];
            auto it = merges_.find(pair_key(a.symbol, b.symbol));
            if (it == merges_.end() || it->second.merged != merged || it->second.rank != rank) continue;  // stale
            a.symbol = merged;
            a.end = b.end;
            b.begin = b.end;  // gone
            a.next = b.next;
            if (a.next >= 0) pieces[static_cast<std::size_t>(a.next)].prev = left;
            if (a.prev >= 0) consider(a.prev);
            consider(left);
        }
    }

    void emit(const Text& w, const std::vector<Piece>& pieces, std::vector<Token>& out) const {
        for (std::int32_t i = 0; i >= 0; i = pieces[static_cast<std::size_t>(i)].next) {
            const Piece& p = pieces[static_cast<std::size_t>(i)];
            const Span span = join_spans(w.spans, p.begin, p.end);
            std::int64_t id = -1;
            std::string text;
            if (p.symbol != kNoSymbol) {
                text = symbol_strings_[static_cast<std::size_t>(p.symbol)];
                id = symbol_ids_[static_cast<std::size_t>(p.symbol)];
            } else {
                append_utf8(text, w.chars[p.begin]);
                if (p.end == w.size()) text += end_of_word_suffix_;
            }
            if (!continuing_subword_suffix_.empty() && p.next >= 0) {
                text += continuing_subword_suffix_;
                auto found = vocab_.find(text);
                id = found ? *found : -1;
            }
            if (id < 0) {  // added tokens join the vocabulary after the model is built
                if (auto found = vocab_.find(text)) id = *found;
            }
            if (id >= 0) {
                out.push_back({id, span});
                continue;
            }
            if (byte_fallback_ && append_bytes(text, span, out)) continue;
            if (unk_token_.empty())
                throw TokenizerError("BPE: \"" + text + "\" is not in the vocabulary" +
                                     (byte_fallback_ ? " (nor are all its <0xXX> byte tokens)" : "") +
                                     " and the model has no unk_token");
            auto unk = vocab_.find(unk_token_);
            if (!unk) throw TokenizerError("BPE: the unk_token \"" + unk_token_ + "\" is not in the vocabulary");
            out.push_back({*unk, span});
        }
    }

    // The "<0xXX>" tokens of the bytes of `text`, when all are in the vocabulary.
    bool append_bytes(const std::string& text, Span span, std::vector<Token>& out) const {
        static const char* hex = "0123456789ABCDEF";
        const std::size_t first = out.size();
        for (unsigned char b : text) {
            const char name[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
            auto id = vocab_.find(std::string_view(name, 6));
            if (!id) {
                out.resize(first);
                return false;
            }
            out.push_back({*id, span});
        }
        return true;
    }

    Vocab vocab_;
    std::string unk_token_, end_of_word_suffix_, continuing_subword_suffix_;
    bool fuse_unk_, byte_fallback_, ignore_merges_;
    std::unordered_map<std::string, std::int32_t, Vocab::Hash, std::equal_to<>> symbols_;
    std::vector<std::string> symbol_strings_;
    std::vector<std::int64_t> symbol_ids_;  // vocabulary id of each symbol, -1 when not in it
    std::unordered_map<std::uint64_t, Merge> merges_;
    std::array<std::int32_t, kDirect> direct_{};
    std::uint64_t serial_ = next_serial();  // tells the thread-local caches of two models apart

    static std::uint64_t next_serial() {
        static std::atomic<std::uint64_t> counter{0};
        return ++counter;
    }
};

}  // namespace

std::unique_ptr<Model> make_bpe(const json& j, const JsonPath& at) { return std::make_unique<BPE>(j, at); }

}  // namespace graft::tokenizers::detail
