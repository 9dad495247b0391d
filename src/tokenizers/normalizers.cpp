// The normalizers of a tokenizer.json, with the JS reference's semantics (each keeps the spans
// of the original characters; see unicode.hpp's Text).
#include <algorithm>

#include "tokenizers/components.hpp"

namespace graft::tokenizers::detail {

namespace {

// NFD, then every \p{Mn} dropped: BERT's strip_accents ("é" → "e").
Text strip_accents_nfd(const Text& text) {
    const Text nfd = normalize(text, NormalForm::NFD);
    Text out;
    for (std::size_t i = 0; i < nfd.size(); ++i)
        if (!is_nonspacing_mark(nfd.chars[i])) out.push(nfd.chars[i], nfd.spans[i]);
    return out;
}

// JS's is_chinese_char, which the reference applies to UTF-16 code units: only the CJK blocks
// of the Basic Multilingual Plane ever match.
bool is_cjk_bmp(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF);
}

class BertNormalizer final : public Normalizer {
public:
    BertNormalizer(const json& j, const JsonPath& at)
        : clean_text_(bool_or(j, "clean_text", true, at)),
          chinese_(bool_or(j, "handle_chinese_chars", true, at)),
          lowercase_(bool_or(j, "lowercase", true, at)) {
        auto it = j.find("strip_accents");
        if (it != j.end() && !it->is_null()) strip_accents_ = bool_or(j, "strip_accents", false, at);
    }
    Text normalize(const Text& in) const override {
        if (std::all_of(in.chars.begin(), in.chars.end(), [](char32_t c) { return c < 0x80; })) return normalize_ascii(in);
        Text text;
        if (clean_text_) {
            for (std::size_t i = 0; i < in.size(); ++i) {
                const char32_t c = in.chars[i];
                if (c == 0 || c == 0xFFFD) continue;
                if (c != '\t' && c != '\n' && c != '\r' && is_other_control(c)) continue;
                text.push(is_js_space(c) ? U' ' : c, in.spans[i]);
            }
        } else {
            text = in;
        }
        if (chinese_) {
            Text spaced;
            for (std::size_t i = 0; i < text.size(); ++i) {
                if (is_cjk_bmp(text.chars[i])) {
                    spaced.push(U' ', text.spans[i]);
                    spaced.push(text.chars[i], text.spans[i]);
                    spaced.push(U' ', text.spans[i]);
                } else {
                    spaced.push(text.chars[i], text.spans[i]);
                }
            }
            text = std::move(spaced);
        }
        if (lowercase_) {
            text = lowercase(text);
            if (strip_accents_.value_or(true)) text = strip_accents_nfd(text);
        } else if (strip_accents_.value_or(false)) {
            text = strip_accents_nfd(text);
        }
        return text;
    }
    bool ascii_per_character() const override { return true; }

private:
    // The same steps in one pass for ASCII text, where no character is CJK, has an accent or
    // lowercases to more than itself.
    Text normalize_ascii(const Text& in) const {
        Text out;
        out.chars.reserve(in.size());
        out.spans.reserve(in.size());
        for (std::size_t i = 0; i < in.size(); ++i) {
            char32_t c = in.chars[i];
            if (clean_text_) {
                if (c == 0 || (c != '\t' && c != '\n' && c != '\r' && is_other_control(c))) continue;
                if (is_js_space(c)) c = U' ';
            }
            if (lowercase_ && c >= U'A' && c <= U'Z') c += 32;
            out.push(c, in.spans[i]);
        }
        return out;
    }

    bool clean_text_, chinese_, lowercase_;
    std::optional<bool> strip_accents_;
};

class Lowercase final : public Normalizer {
public:
    Text normalize(const Text& text) const override { return lowercase(text); }
    bool ascii_per_character() const override { return true; }
};

// The reference's StripAccents drops every \p{M} without decomposing first.
class StripAccents final : public Normalizer {
public:
    Text normalize(const Text& text) const override {
        Text out;
        for (std::size_t i = 0; i < text.size(); ++i)
            if (!is_mark(text.chars[i])) out.push(text.chars[i], text.spans[i]);
        return out;
    }
    bool ascii_per_character() const override { return true; }
};

class UnicodeForm final : public Normalizer {
public:
    explicit UnicodeForm(NormalForm form) : form_(form) {}
    Text normalize(const Text& text) const override { return detail::normalize(text, form_); }
    bool ascii_per_character() const override { return true; }

private:
    NormalForm form_;
};

// SentencePiece's normalization as the reference runs it (it does not read precompiled_charsmap):
// the C0/C1 controls other than \t \n \f \r dropped, the spaces and separators, U+2581, U+FEFF
// and U+FFFD turned into ' ', then NFKC on the parts between the U+FF5E ('～') it leaves alone.
class Precompiled final : public Normalizer {
public:
    Text normalize(const Text& in) const override {
        Text text;
        for (std::size_t i = 0; i < in.size(); ++i) {
            const char32_t c = in.chars[i];
            if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F) continue;
            const bool space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0xA0 || c == 0x1680 ||
                               (c >= 0x2000 && c <= 0x200F) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
                               c == 0x2581 || c == 0x3000 || c == 0xFEFF || c == 0xFFFD;
            text.push(space ? U' ' : c, in.spans[i]);
        }
        Text out;
        for (std::size_t i = 0; i <= text.size();) {
            std::size_t j = i;
            while (j < text.size() && text.chars[j] != 0xFF5E) ++j;
            const Text part = detail::normalize(text.sub(i, j), NormalForm::NFKC);
            out.chars += part.chars;
            out.spans.insert(out.spans.end(), part.spans.begin(), part.spans.end());
            if (j < text.size()) out.push(text.chars[j], text.spans[j]);
            i = j + 1;
        }
        return out;
    }
    bool ascii_per_character() const override { return true; }
};

class Strip final : public Normalizer {
public:
    Strip(const json& j, const JsonPath& at)
        : left_(bool_or(j, "strip_left", false, at)), right_(bool_or(j, "strip_right", false, at)) {}
    Text normalize(const Text& text) const override {
        std::size_t b = 0, e = text.size();
        if (left_) while (b < e && is_js_space(text.chars[b])) ++b;
        if (right_) while (e > b && is_js_space(text.chars[e - 1])) --e;
        return text.sub(b, e);
    }

private:
    bool left_, right_;
};

// The prepended characters take the span of the text's first character.
class Prepend final : public Normalizer {
public:
    Prepend(const json& j, const JsonPath& at) : prepend_(to_u32(string_field(j, "prepend", at), "Prepend")) {}
    Text normalize(const Text& text) const override {
        const Span s = text.empty() ? Span{} : Span{text.spans[0].begin, text.spans[0].end};
        Text out;
        for (char32_t c : prepend_) out.push(c, s);
        out.chars += text.chars;
        out.spans.insert(out.spans.end(), text.spans.begin(), text.spans.end());
        return out;
    }

private:
    std::u32string prepend_;
};

// Every occurrence of a string, left to right, replaced; the replacement spans the characters
// it replaces.
class Replace final : public Normalizer {
public:
    Replace(const json& j, const JsonPath& at) {
        const json& pattern = object_field(j, "pattern", at);
        if (!pattern.contains("String"))
            (at / "pattern").fail("only {\"String\": …} patterns are supported, found " + pattern.dump());
        pattern_ = to_u32(string_field(pattern, "String", at / "pattern"), "Replace");
        content_ = to_u32(string_or(j, "content", "", at), "Replace");
        if (pattern_.empty()) (at / "pattern").fail("the pattern is empty");
    }
    Text normalize(const Text& text) const override {
        Text out;
        std::size_t i = 0;
        while (i < text.size()) {
            if (i + pattern_.size() <= text.size() && text.chars.compare(i, pattern_.size(), pattern_) == 0) {
                const Span s = join_spans(text.spans, i, i + pattern_.size());
                for (char32_t c : content_) out.push(c, s);
                i += pattern_.size();
            } else {
                out.push(text.chars[i], text.spans[i]);
                ++i;
            }
        }
        return out;
    }

private:
    std::u32string pattern_, content_;
};

class NormalizerSequence final : public Normalizer {
public:
    NormalizerSequence(const json& j, const JsonPath& at) {
        auto it = j.find("normalizers");
        if (it == j.end() || !it->is_array()) at.fail("Sequence needs a \"normalizers\" array");
        for (std::size_t i = 0; i < it->size(); ++i) {
            const json& item = (*it)[i];
            if (item.is_null()) continue;
            steps_.push_back(make_normalizer(item, (at / "normalizers")[i]));
        }
    }
    Text normalize(const Text& text) const override {
        Text t = text;
        for (const auto& step : steps_) t = step->normalize(t);
        return t;
    }
    bool ascii_per_character() const override {
        return std::all_of(steps_.begin(), steps_.end(), [](const auto& step) { return step->ascii_per_character(); });
    }

private:
    std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json& j, const JsonPath& at) {
    const std::string type = component_type(j, at);
    if (type == "BertNormalizer") return std::make_unique<BertNormalizer>(j, at);
    if (type == "Lowercase") return std::make_unique<Lowercase>();
    if (type == "StripAccents") return std::make_unique<StripAccents>();
    if (type == "NFC") return std::make_unique<UnicodeForm>(NormalForm::NFC);
    if (type == "NFD") return std::make_unique<UnicodeForm>(NormalForm::NFD);
    if (type == "NFKC") return std::make_unique<UnicodeForm>(NormalForm::NFKC);
    if (type == "NFKD") return std::make_unique<UnicodeForm>(NormalForm::NFKD);
    if (type == "Strip") return std::make_unique<Strip>(j, at);
    if (type == "Prepend") return std::make_unique<Prepend>(j, at);
    if (type == "Replace") return std::make_unique<Replace>(j, at);
    if (type == "Sequence") return std::make_unique<NormalizerSequence>(j, at);
    if (type == "Precompiled") return std::make_unique<Precompiled>();
    (at / "type").fail("unsupported normalizer type \"" + type +
                       "\" (supported: BertNormalizer, Lowercase, StripAccents, NFC, NFD, NFKC, NFKD, Strip, Prepend, "
                       "Replace, Precompiled, Sequence)");
}

}  // namespace graft::tokenizers::detail
