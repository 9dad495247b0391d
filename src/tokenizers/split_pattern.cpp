// The Split pre-tokenizer's patterns: hand-written matchers for GPT-2's, Llama-3's and Qwen2's
// regexes, ICU's regex engine for any other, literal strings (split_pattern.hpp).
#include "tokenizers/split_pattern.hpp"

#include <unicode/uregex.h>

#include "tokenizers/unicode.hpp"

namespace graft::tokenizers::detail {

namespace {

bool is_js_space_class(char32_t c) { return is_js_space(c); }
bool is_white_space_class(char32_t c) { return is_white_space(c); }

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+, the
// alternatives tried in order, \s being `space`.
template <bool (*space)(char32_t)>
std::size_t gpt2_match_with(const std::u32string& s, std::size_t i) {
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
    const auto is_other = [](char32_t x) { return !space(x) && !is_letter(x) && !is_number(x); };
    const std::size_t start = (c == U' ' && i + 1 < n) ? i + 1 : i;  // the optional leading space
    for (bool (*in_class)(char32_t) : {is_letter, is_number, +is_other}) {
        if (in_class(s[start])) {
            std::size_t j = start + 1;
            while (j < n && in_class(s[j])) ++j;
            return j;
        }
    }
    // Whitespace: the run, less its last character when a non-space follows (\s+(?!\S)),
    // else the whole run (\s+).
    std::size_t j = i + 1;
    while (j < n && space(s[j])) ++j;
    if (j < n && j - 1 > i) return j - 1;
    return j;
}

char32_t ascii_lower(char32_t c) { return (c >= U'A' && c <= U'Z') ? c + 32 : c; }
bool is_cr_lf(char32_t c) { return c == U'\r' || c == U'\n'; }

// Llama-3 (max_digits 3) and Qwen2 (1):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}
//   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// with \s = \p{White_Space} and (?i:…) folding ASCII letters, as the reference runs it.
template <std::size_t max_digits>
std::size_t llama3_match(const std::u32string& s, std::size_t i) {
    const std::size_t n = s.size();
    const char32_t c = s[i];
    if (c == U'\'' && i + 1 < n) {
        const char32_t a = ascii_lower(s[i + 1]);
        if (a == U's' || a == U't' || a == U'm' || a == U'd') return i + 2;
        if (i + 2 < n) {
            const char32_t b = ascii_lower(s[i + 2]);
            if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return i + 3;
        }
    }
    const auto letters_from = [&](std::size_t j) {
        while (j < n && is_letter(s[j])) ++j;
        return j;
    };
    if (is_letter(c)) return letters_from(i + 1);
    const bool number = is_number(c);
    if (!number && !is_cr_lf(c) && i + 1 < n && is_letter(s[i + 1])) return letters_from(i + 2);
    if (number) {
        std::size_t j = i + 1;
        while (j < n && j - i < max_digits && is_number(s[j])) ++j;
        return j;
    }
    const auto is_other = [](char32_t x) { return !is_white_space(x) && !is_letter(x) && !is_number(x); };
    const std::size_t start = (c == U' ' && i + 1 < n && is_other(s[i + 1])) ? i + 1 : i;
    if (is_other(s[start])) {
        std::size_t j = start + 1;
        while (j < n && is_other(s[j])) ++j;
        while (j < n && is_cr_lf(s[j])) ++j;
        return j;
    }
    // `c` is whitespace. \s*[\r\n]+ ends after the run's last \r or \n; else \s+(?!\S) leaves
    // the run's last character to a non-space that follows; else \s+.
    std::size_t j = i + 1;
    while (j < n && is_white_space(s[j])) ++j;
    for (std::size_t k = j; k > i; --k)
        if (is_cr_lf(s[k - 1])) return k;
    if (j < n && j - 1 > i) return j - 1;
    return j;
}

using MatchAt = std::size_t (*)(const std::u32string&, std::size_t);

// A pattern that matches at every position, so that its matches tile the text.
class KnownPattern final : public SplitPattern {
public:
    explicit KnownPattern(MatchAt match) : match_(match) {}
    void find_all(const std::u32string& s, std::vector<Match>& out) const override {
        for (std::size_t i = 0; i < s.size();) {
            const std::size_t j = match_(s, i);
            out.emplace_back(i, j);
            i = j;
        }
    }

private:
    MatchAt match_;
};

std::u16string to_utf16(std::string_view utf8, const char* who) {
    std::u16string out;
    for (char32_t c : to_u32(utf8, who)) {
        if (c < 0x10000) {
            out.push_back(static_cast<char16_t>(c));
        } else {
            out.push_back(static_cast<char16_t>(0xD800 + ((c - 0x10000) >> 10)));
            out.push_back(static_cast<char16_t>(0xDC00 + ((c - 0x10000) & 0x3FF)));
        }
    }
    return out;
}

class IcuPattern final : public SplitPattern {
public:
    IcuPattern(const std::string& regex, const JsonPath& at) {
        const std::u16string pattern = to_utf16(rewrite_for_icu(regex), "Split pattern");
        UParseError parse{};
        UErrorCode err = U_ZERO_ERROR;
        regex_ = uregex_open(reinterpret_cast<const UChar*>(pattern.data()), static_cast<int32_t>(pattern.size()), 0, &parse, &err);
        if (U_FAILURE(err))
            at.fail("the regex \"" + regex + "\" does not compile (ICU: " + u_errorName(err) + " at offset " +
                    std::to_string(parse.offset) + ")");
    }
    ~IcuPattern() override { uregex_close(regex_); }
    IcuPattern(const IcuPattern&) = delete;
    IcuPattern& operator=(const IcuPattern&) = delete;

    void find_all(const std::u32string& s, std::vector<Match>& out) const override {
        // Code points to UTF-16, remembering where each code point starts.
        std::u16string text;
        std::vector<std::size_t> index;  // UTF-16 unit → code point (one past the end included)
        text.reserve(s.size());
        index.reserve(s.size() + 1);
        for (std::size_t k = 0; k < s.size(); ++k) {
            const char32_t c = s[k];
            index.push_back(k);
            if (c < 0x10000) {
                text.push_back(static_cast<char16_t>(c));
            } else {
                index.push_back(k);
                text.push_back(static_cast<char16_t>(0xD800 + ((c - 0x10000) >> 10)));
                text.push_back(static_cast<char16_t>(0xDC00 + ((c - 0x10000) & 0x3FF)));
            }
        }
        index.push_back(s.size());
        // A matcher keeps the text and the position: one clone per call lets threads share the pattern.
        UErrorCode err = U_ZERO_ERROR;
        URegularExpression* re = uregex_clone(regex_, &err);
        check(err, "clone");
        uregex_setText(re, reinterpret_cast<const UChar*>(text.data()), static_cast<int32_t>(text.size()), &err);
        while (U_SUCCESS(err) && uregex_findNext(re, &err)) {
            const int32_t b = uregex_start(re, 0, &err), e = uregex_end(re, 0, &err);
            if (U_FAILURE(err)) break;
            if (e > b) out.emplace_back(index[static_cast<std::size_t>(b)], index[static_cast<std::size_t>(e)]);
        }
        uregex_close(re);
        check(err, "find");
    }

private:
    static void check(UErrorCode err, const char* what) {
        if (U_FAILURE(err)) throw TokenizerError(std::string("Split pattern: ICU regex ") + what + " failed (" + u_errorName(err) + ")");
    }
    URegularExpression* regex_ = nullptr;
};

class StringPattern final : public SplitPattern {
public:
    explicit StringPattern(std::u32string literal) : literal_(std::move(literal)) {}
    void find_all(const std::u32string& s, std::vector<Match>& out) const override {
        if (literal_.empty()) return;
        for (std::size_t i = s.find(literal_); i != std::u32string::npos; i = s.find(literal_, i + literal_.size()))
            out.emplace_back(i, i + literal_.size());
    }

private:
    std::u32string literal_;
};

bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::size_t gpt2_match(const std::u32string& s, std::size_t i, bool js_space) {
    return js_space ? gpt2_match_with<is_js_space_class>(s, i) : gpt2_match_with<is_white_space_class>(s, i);
}

std::string rewrite_for_icu(const std::string& regex) {
    std::string out;
    std::vector<bool> folds;  // per open group: the folding outside it
    bool fold = false;
    int class_depth = 0;
    for (std::size_t i = 0; i < regex.size();) {
        const char c = regex[i];
        if (c == '\\' && i + 1 < regex.size()) {
            const char e = regex[i + 1];
            if ((e == 'p' || e == 'P' || e == 'x' || e == 'u' || e == 'N') && i + 2 < regex.size() && regex[i + 2] == '{') {
                const std::size_t close = regex.find('}', i);
                const std::size_t end = close == std::string::npos ? regex.size() : close + 1;
                out.append(regex, i, end - i);
                i = end;
                continue;
            }
            if (e == 's') out += "\\p{White_Space}";
            else if (e == 'S') out += "\\P{White_Space}";
            else out.append(regex, i, 2);
            i += 2;
            continue;
        }
        if (class_depth > 0) {
            if (c == '[') ++class_depth;
            if (c == ']') --class_depth;
            out += c;
            ++i;
            continue;
        }
        if (c == '[') {
            ++class_depth;
            out += c;
            // A ']' right after '[' or '[^' is a literal.
            std::size_t k = i + 1;
            if (k < regex.size() && regex[k] == '^') out += regex[k++];
            if (k < regex.size() && regex[k] == ']') out += "\\]", ++k;
            i = k;
            continue;
        }
        if (c == '(') {
            folds.push_back(fold);
            if (regex.compare(i, 4, "(?i:") == 0) {
                fold = true;
                out += "(?:";
                i += 4;
                continue;
            }
        } else if (c == ')' && !folds.empty()) {
            fold = folds.back();
            folds.pop_back();
        } else if (c == '.') {
            out += "[^\\n]";
            ++i;
            continue;
        } else if (fold && is_ascii_alpha(c)) {
            out += '[';
            out += static_cast<char>(c | 0x20);
            out += static_cast<char>(c & ~0x20);
            out += ']';
            ++i;
            continue;
        }
        out += c;
        ++i;
    }
    return out;
}

std::unique_ptr<SplitPattern> make_regex_pattern(const std::string& regex, const JsonPath& at) {
    if (regex == kGpt2Pattern) return std::make_unique<KnownPattern>(gpt2_match_with<is_white_space_class>);
    if (regex == kLlama3Pattern) return std::make_unique<KnownPattern>(llama3_match<3>);
    if (regex == kQwen2Pattern) return std::make_unique<KnownPattern>(llama3_match<1>);
    return make_icu_pattern(regex, at);
}

std::unique_ptr<SplitPattern> make_icu_pattern(const std::string& regex, const JsonPath& at) {
    return std::make_unique<IcuPattern>(regex, at);
}

std::unique_ptr<SplitPattern> make_string_pattern(std::u32string literal) {
    return std::make_unique<StringPattern>(std::move(literal));
}

}  // namespace graft::tokenizers::detail
