// The pre-tokenizers of a tokenizer.json, with the JS reference's semantics.
#include <algorithm>
#include <array>

#include "tokenizers/byte_level.hpp"
#include "tokenizers/components.hpp"
#include "tokenizers/split_pattern.hpp"

namespace graft::tokenizers::detail {

namespace {

// Each character as the characters of its UTF-8 bytes, each with the character's span.
Text to_byte_chars(const Text& text, std::size_t begin, std::size_t end) {
    const auto& table = byte_to_char();
    Text out;
    std::string bytes;
    for (std::size_t i = begin; i < end; ++i) {
        bytes.clear();
        append_utf8(bytes, text.chars[i]);
        for (unsigned char b : bytes) out.push(table[b], text.spans[i]);
    }
    return out;
}

class ByteLevel final : public PreTokenizer {
public:
    ByteLevel(const json& j, const JsonPath& at)
        : add_prefix_space_(bool_or(j, "add_prefix_space", false, at)), use_regex_(bool_or(j, "use_regex", true, at)) {}
    void split(const Text& input, std::size_t, std::vector<Text>& out) const override {
        const Text* text = &input;
        Text prefixed;
        if (add_prefix_space_ && (input.empty() || input.chars[0] != U' ')) {
            prefixed.push(U' ', input.empty() ? Span{} : input.spans[0]);
            prefixed.chars += input.chars;
            prefixed.spans.insert(prefixed.spans.end(), input.spans.begin(), input.spans.end());
            text = &prefixed;
        }
        if (!use_regex_) {
            out.push_back(to_byte_chars(*text, 0, text->size()));
            return;
        }
        for (std::size_t i = 0; i < text->size();) {
            const std::size_t j = gpt2_match(text->chars, i, /*js_space=*/true);
            out.push_back(to_byte_chars(*text, i, j));
            i = j;
        }
    }

private:
    bool add_prefix_space_, use_regex_;
};

// How the pieces of a Split (and Punctuation, Digits) are formed from the matches of its pattern,
// as Hugging Face's tokenizers defines the behaviours.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

SplitBehavior read_behavior(const json& j, const JsonPath& at, const char* fallback) {
    const std::string b = string_or(j, "behavior", fallback, at);
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    (at / "behavior").fail("expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous, found \"" + b + "\"");
}

// `text` cut at the matches (flagged), then the pieces formed by `behavior`; empty pieces go.
void split_on_matches(const Text& text, const std::vector<Match>& matches, bool invert, SplitBehavior behavior,
                      std::vector<Text>& out) {
    struct Segment {
        std::size_t begin, end;
        bool match;
    };
    std::vector<Segment> segments;
    std::size_t prev = 0;
    for (const auto& [b, e] : matches) {
        if (b > prev) segments.push_back({prev, b, invert});
        segments.push_back({b, e, !invert});
        prev = e;
    }
    if (prev < text.size()) segments.push_back({prev, text.size(), invert});

    std::vector<std::pair<std::size_t, std::size_t>> pieces;
    bool previous_match = false;
    switch (behavior) {
        case SplitBehavior::Removed:
            for (const Segment& s : segments)
                if (!s.match) pieces.emplace_back(s.begin, s.end);
            break;
        case SplitBehavior::Isolated:
            for (const Segment& s : segments) pieces.emplace_back(s.begin, s.end);
            break;
        case SplitBehavior::MergedWithPrevious:  // a match joins the piece before it
            for (const Segment& s : segments) {
                if (s.match && !previous_match && !pieces.empty()) pieces.back().second = s.end;
                else pieces.emplace_back(s.begin, s.end);
                previous_match = s.match;
            }
            break;
        case SplitBehavior::MergedWithNext:  // a match joins the piece after it
            for (std::size_t k = segments.size(); k-- > 0;) {
                const Segment& s = segments[k];
                if (s.match && !previous_match && !pieces.empty()) pieces.back().first = s.begin;
                else pieces.emplace_back(s.begin, s.end);
                previous_match = s.match;
            }
            std::reverse(pieces.begin(), pieces.end());
            break;
        case SplitBehavior::Contiguous:  // consecutive matches form one piece
            for (std::size_t k = 0; k < segments.size(); ++k) {
                const Segment& s = segments[k];
                if (k > 0 && s.match && previous_match) pieces.back().second = s.end;
                else pieces.emplace_back(s.begin, s.end);
                previous_match = s.match;
            }
            break;
    }
    for (const auto& [b, e] : pieces)
        if (e > b) out.push_back(text.sub(b, e));
}

// Cuts at the matches of a regex or a literal string.
class Split final : public PreTokenizer {
public:
    Split(const json& j, const JsonPath& at)
        : behavior_(read_behavior(j, at, "Isolated")), invert_(bool_or(j, "invert", false, at)) {
        const json& pattern = object_field(j, "pattern", at);
        if (pattern.contains("Regex") && pattern["Regex"].is_string())
            pattern_ = make_regex_pattern(pattern["Regex"].get<std::string>(), at / "pattern" / "Regex");
        else if (pattern.contains("String") && pattern["String"].is_string())
            pattern_ = make_string_pattern(to_u32(pattern["String"].get<std::string>(), "Split pattern"));
        else
            (at / "pattern").fail("expected {\"Regex\": \"...\"} or {\"String\": \"...\"}, found " + pattern.dump());
    }
    void split(const Text& text, std::size_t, std::vector<Text>& out) const override {
        std::vector<Match> matches;
        pattern_->find_all(text.chars, matches);
        split_on_matches(text, matches, invert_, behavior_, out);
    }

private:
    std::unique_ptr<SplitPattern> pattern_;
    SplitBehavior behavior_;
    bool invert_;
};

// Each character that satisfies `in_class` is a match.
template <typename Pred>
std::vector<Match> class_matches(const Text& text, Pred in_class) {
    std::vector<Match> matches;
    for (std::size_t i = 0; i < text.size();) {
        if (in_class(text.chars[i])) matches.emplace_back(i, i + 1);
        ++i;
    }
    return matches;
}

bool is_bert_punctuation(char32_t c);

// Each punctuation character (\p{P} and ASCII's punctuation) a match, pieces by "behavior".
class Punctuation final : public PreTokenizer {
public:
    Punctuation(const json& j, const JsonPath& at) : behavior_(read_behavior(j, at, "Isolated")) {}
    void split(const Text& text, std::size_t, std::vector<Text>& out) const override {
        split_on_matches(text, class_matches(text, is_bert_punctuation), false, behavior_, out);
    }

private:
    SplitBehavior behavior_;
};

// Numbers (\p{N}) apart from the rest: each digit alone with individual_digits, else runs.
class Digits final : public PreTokenizer {
public:
    Digits(const json& j, const JsonPath& at) : individual_(bool_or(j, "individual_digits", false, at)) {}
    void split(const Text& text, std::size_t, std::vector<Text>& out) const override {
        split_on_matches(text, class_matches(text, is_number),
                         false, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous, out);
    }

private:
    bool individual_;
};

bool is_bert_punctuation(char32_t c) {
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
    return is_punctuation(c);
}

// Trimmed, then runs of non-space non-punctuation, each punctuation character alone: calls
// emit(begin, end) for each word of the n characters, space(i) and punctuation(i) saying what
// character i is.
template <typename Space, typename Punctuation, typename Emit>
void bert_words(std::size_t n, Space space, Punctuation punctuation, Emit emit) {
    std::size_t b = 0, e = n;
    while (b < e && space(b)) ++b;
    while (e > b && space(e - 1)) --e;
    for (std::size_t i = b; i < e;) {
        if (space(i)) {
            ++i;
        } else if (punctuation(i)) {
            emit(i, i + 1);
            ++i;
        } else {
            std::size_t j = i + 1;
            while (j < e && !space(j) && !punctuation(j)) ++j;
            emit(i, j);
            i = j;
        }
    }
}

class BertPreTokenizer final : public PreTokenizer {
public:
    void split(const Text& text, std::size_t, std::vector<Text>& out) const override {
        const auto& c = text.chars;
        bert_words(
            text.size(), [&](std::size_t i) { return is_js_space(c[i]); }, [&](std::size_t i) { return is_bert_punctuation(c[i]); },
            [&](std::size_t b, std::size_t e) { out.push_back(text.sub(b, e)); });
    }
    bool has_ascii_path() const override { return true; }
    void split_ascii(std::string_view text, std::uint32_t base, std::vector<ByteRange>& out) const override {
        // What each ASCII character is, from the same tests as split's.
        enum : std::uint8_t { kWord, kSpace, kPunctuation };
        static const std::array<std::uint8_t, 128> kind = [] {
            std::array<std::uint8_t, 128> k{};
            for (char32_t c = 0; c < 128; ++c) k[c] = is_js_space(c) ? kSpace : is_bert_punctuation(c) ? kPunctuation : kWord;
            return k;
        }();
        auto at = [&](std::size_t i) { return kind[static_cast<unsigned char>(text[i])]; };
        bert_words(
            text.size(), [&](std::size_t i) { return at(i) == kSpace; }, [&](std::size_t i) { return at(i) == kPunctuation; },
            [&](std::size_t b, std::size_t e) {
                out.push_back({base + static_cast<std::uint32_t>(b), base + static_cast<std::uint32_t>(e)});
            });
    }
};

// Spaces replaced by the replacement ('▁'), which is prepended too; the whole text is one piece,
// as in the reference (which ignores "split").
class Metaspace final : public PreTokenizer {
public:
    Metaspace(const json& j, const JsonPath& at) {
        const std::u32string rep = to_u32(string_or(j, "replacement", "\xE2\x96\x81", at), "Metaspace");
        if (rep.size() != 1) (at / "replacement").fail("expected one character");
        replacement_ = rep[0];
        const std::string scheme = string_or(j, "prepend_scheme", "always", at);
        if (scheme != "always" && scheme != "first" && scheme != "never")
            (at / "prepend_scheme").fail("expected \"always\", \"first\" or \"never\", found \"" + scheme + "\"");
        scheme_ = scheme;
    }
    void split(const Text& text, std::size_t section, std::vector<Text>& out) const override {
        Text t;
        const bool prepend = (text.empty() || (text.chars[0] != U' ' && text.chars[0] != replacement_)) &&
                             (scheme_ == "always" || (scheme_ == "first" && section == 0));
        if (prepend) t.push(replacement_, text.empty() ? Span{} : text.spans[0]);
        for (std::size_t i = 0; i < text.size(); ++i) t.push(text.chars[i] == U' ' ? replacement_ : text.chars[i], text.spans[i]);
        out.push_back(std::move(t));
    }

private:
    char32_t replacement_;
    std::string scheme_;
};

bool is_ascii_word(char32_t c) { return c < 0x80 && (c == '_' || is_letter(c) || is_number(c)); }

// \w+|[^\w\s]+ with JavaScript's ASCII \w.
class Whitespace final : public PreTokenizer {
public:
    void split(const Text& text, std::size_t, std::vector<Text>& out) const override {
        for (std::size_t i = 0; i < text.size();) {
            const char32_t c = text.chars[i];
            if (is_js_space(c)) {
                ++i;
                continue;
            }
            const bool word = is_ascii_word(c);
            std::size_t j = i + 1;
            while (j < text.size() && !is_js_space(text.chars[j]) && is_ascii_word(text.chars[j]) == word) ++j;
            out.push_back(text.sub(i, j));
            i = j;
        }
    }
};

class WhitespaceSplit final : public PreTokenizer {
public:
    void split(const Text& text, std::size_t, std::vector<Text>& out) const override {
        for (std::size_t i = 0; i < text.size();) {
            if (is_js_space(text.chars[i])) {
                ++i;
                continue;
            }
            std::size_t j = i + 1;
            while (j < text.size() && !is_js_space(text.chars[j])) ++j;
            out.push_back(text.sub(i, j));
            i = j;
        }
    }
};

class PreTokenizerSequence final : public PreTokenizer {
public:
    PreTokenizerSequence(const json& j, const JsonPath& at) {
        auto it = j.find("pretokenizers");
        if (it == j.end() || !it->is_array()) at.fail("Sequence needs a \"pretokenizers\" array");
        for (std::size_t i = 0; i < it->size(); ++i) {
            if ((*it)[i].is_null()) continue;
            steps_.push_back(make_pre_tokenizer((*it)[i], (at / "pretokenizers")[i]));
        }
    }
    void split(const Text& text, std::size_t section, std::vector<Text>& out) const override {
        std::vector<Text> pieces{text}, next;
        for (const auto& step : steps_) {
            next.clear();
            for (const Text& piece : pieces) step->split(piece, section, next);
            pieces.swap(next);
        }
        for (Text& piece : pieces) out.push_back(std::move(piece));
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

void PreTokenizer::split_ascii(std::string_view text, std::uint32_t base, std::vector<ByteRange>& out) const {
    Text t;
    t.chars.reserve(text.size());
    t.spans.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto at = base + static_cast<std::uint32_t>(i);
        t.push(static_cast<unsigned char>(text[i]), {at, at + 1});
    }
    std::vector<Text> pieces;
    split(t, 0, pieces);
    for (const Text& piece : pieces)
        if (!piece.empty()) out.push_back({piece.spans.front().begin, piece.spans.back().end});
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const JsonPath& at) {
    const std::string type = component_type(j, at);
    if (type == "ByteLevel") return std::make_unique<ByteLevel>(j, at);
    if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
    if (type == "Metaspace") return std::make_unique<Metaspace>(j, at);
    if (type == "Whitespace") return std::make_unique<Whitespace>();
    if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
    if (type == "Sequence") return std::make_unique<PreTokenizerSequence>(j, at);
    if (type == "Split") return std::make_unique<Split>(j, at);
    if (type == "Punctuation") return std::make_unique<Punctuation>(j, at);
    if (type == "Digits") return std::make_unique<Digits>(j, at);
    (at / "type").fail("unsupported pre-tokenizer type \"" + type +
                       "\" (supported: ByteLevel, BertPreTokenizer, Metaspace, Whitespace, WhitespaceSplit, Split, "
                       "Punctuation, Digits, Sequence)");
}

}  // namespace graft::tokenizers::detail
