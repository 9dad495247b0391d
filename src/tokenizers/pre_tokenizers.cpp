// The pre-tokenizers of a tokenizer.json, with the JS reference's semantics.
#include "tokenizers/byte_level.hpp"
#include "tokenizers/components.hpp"

namespace graft::tokenizers::detail {

namespace {

bool is_gpt2_other(char32_t c) { return !is_js_space(c) && !is_letter(c) && !is_number(c); }

// The end of the match of GPT-2's pattern at `i`, the alternatives tried in order:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::size_t gpt2_match(const std::u32string& s, std::size_t i) {
    const std::size_t n = s.size();
    const char32_t c = s[i];
    if (c == U'\'' && i + 1 < n) {
        const char32_t a = s[i + 1];
        if (a == U's' || a == U't' || a == U'm' || a == U'd') return i + 2;
        if (i + 2 < n) {
            const char32_t b = s[i + 2];
            if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return i + 3;
        }
    }
    const std::size_t start = (c == U' ' && i + 1 < n) ? i + 1 : i;  // the optional leading space
    for (auto in_class : {is_letter, is_number, is_gpt2_other}) {
        if (in_class(s[start])) {
            std::size_t j = start + 1;
            while (j < n && in_class(s[j])) ++j;
            return j;
        }
    }
    // Whitespace: the run, less its last character when a non-space follows (\s+(?!\S)),
    // else the whole run (\s+).
    std::size_t j = i + 1;
    while (j < n && is_js_space(s[j])) ++j;
    if (j < n && j - 1 > i) return j - 1;
    return j;
}

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
            const std::size_t j = gpt2_match(text->chars, i);
            out.push_back(to_byte_chars(*text, i, j));
            i = j;
        }
    }

private:
    bool add_prefix_space_, use_regex_;
};

bool is_bert_punctuation(char32_t c) {
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
    return is_punctuation(c);
}

// Trimmed, then runs of non-space non-punctuation, each punctuation character alone.
class BertPreTokenizer final : public PreTokenizer {
public:
    void split(const Text& text, std::size_t, std::vector<Text>& out) const override {
        std::size_t b = 0, e = text.size();
        while (b < e && is_js_space(text.chars[b])) ++b;
        while (e > b && is_js_space(text.chars[e - 1])) --e;
        for (std::size_t i = b; i < e;) {
            const char32_t c = text.chars[i];
            if (is_js_space(c)) {
                ++i;
            } else if (is_bert_punctuation(c)) {
                out.push_back(text.sub(i, i + 1));
                ++i;
            } else {
                std::size_t j = i + 1;
                while (j < e && !is_js_space(text.chars[j]) && !is_bert_punctuation(text.chars[j])) ++j;
                out.push_back(text.sub(i, j));
                i = j;
            }
        }
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

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const JsonPath& at) {
    const std::string type = component_type(j, at);
    if (type == "ByteLevel") return std::make_unique<ByteLevel>(j, at);
    if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
    if (type == "Metaspace") return std::make_unique<Metaspace>(j, at);
    if (type == "Whitespace") return std::make_unique<Whitespace>();
    if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
    if (type == "Sequence") return std::make_unique<PreTokenizerSequence>(j, at);
    (at / "type").fail("unsupported pre-tokenizer type \"" + type +
                       "\" (supported: ByteLevel, BertPreTokenizer, Metaspace, Whitespace, WhitespaceSplit, Sequence)");
}

}  // namespace graft::tokenizers::detail
