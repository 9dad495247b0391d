// Internal: UTF-8, categories, normalization and lowercasing for the tokenizers (unicode.hpp).
#include "tokenizers/unicode.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "graft/tokenizers/tokenizer.hpp"

namespace graft::tokenizers::detail {

Text Text::sub(std::size_t begin, std::size_t end) const {
    Text out;
    out.chars.assign(chars.begin() + static_cast<std::ptrdiff_t>(begin), chars.begin() + static_cast<std::ptrdiff_t>(end));
    out.spans.assign(spans.begin() + static_cast<std::ptrdiff_t>(begin), spans.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
}

Span join_spans(const std::vector<Span>& spans, std::size_t begin, std::size_t end) {
    Span s = spans[begin];
    for (std::size_t k = begin + 1; k < end; ++k) {
        s.begin = std::min(s.begin, spans[k].begin);
        s.end = std::max(s.end, spans[k].end);
    }
    return s;
}

namespace {

[[noreturn]] void invalid_utf8(const char* who, std::size_t offset, unsigned char byte) {
    static const char* hex = "0123456789ABCDEF";
    std::string b = "0x";
    b += hex[byte >> 4];
    b += hex[byte & 15];
    throw TokenizerError(std::string(who) + ": the text is not valid UTF-8: byte " + std::to_string(offset) + " (" +
                         b + ") does not start or continue a character");
}

// The code point at `i` (advanced past it), or -1 when the bytes there are not UTF-8: the
// expected continuation bytes, no overlong form, no surrogate, nothing above U+10FFFF.
long next_code_point(std::string_view s, std::size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len;
    char32_t c, min;
    if ((b0 & 0xE0) == 0xC0) { len = 2; c = b0 & 0x1F; min = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { len = 3; c = b0 & 0x0F; min = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { len = 4; c = b0 & 0x07; min = 0x10000; }
    else return -1;
    if (i + static_cast<std::size_t>(len) > s.size()) return -1;
    for (int k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((b & 0xC0) != 0x80) return -1;
        c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return -1;
    i += static_cast<std::size_t>(len);
    return static_cast<long>(c);
}

}  // namespace

Text decode_utf8(std::string_view utf8, const char* who, std::size_t base) {
    if (utf8.size() + base >= std::numeric_limits<std::uint32_t>::max())
        throw TokenizerError(std::string(who) + ": the text holds " + std::to_string(utf8.size()) +
                             " bytes; at most 4 GiB - 1 are supported");
    Text out;
    out.chars.reserve(utf8.size());
    out.spans.reserve(utf8.size());
    std::size_t i = 0;
    while (i < utf8.size()) {
        const std::size_t start = i;
        const long c = next_code_point(utf8, i);
        if (c < 0) invalid_utf8(who, start, static_cast<unsigned char>(utf8[start]));
        out.push(static_cast<char32_t>(c), {static_cast<std::uint32_t>(base + start), static_cast<std::uint32_t>(base + i)});
    }
    return out;
}

std::u32string to_u32(std::string_view utf8, const char* who) {
    std::u32string out;
    out.reserve(utf8.size());
    std::size_t i = 0;
    while (i < utf8.size()) {
        const std::size_t start = i;
        const long c = next_code_point(utf8, i);
        if (c < 0) invalid_utf8(who, start, static_cast<unsigned char>(utf8[start]));
        out.push_back(static_cast<char32_t>(c));
    }
    return out;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

bool is_ascii(std::string_view bytes) {
    std::uint64_t any = 0;
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, bytes.data() + i, 8);
        any |= word;
    }
    for (; i < bytes.size(); ++i) any |= static_cast<unsigned char>(bytes[i]);
    return (any & 0x8080808080808080ull) == 0;
}

std::string to_utf8(std::u32string_view chars) {
    std::string out;
    out.reserve(chars.size());
    for (char32_t c : chars) append_utf8(out, c);
    return out;
}

std::string utf8_lossy(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t j = i;
        const long c = next_code_point(s, j);
        if (c >= 0) {
            out.append(s.substr(i, j - i));
            i = j;
            continue;
        }
        // WHATWG: the maximal prefix of a valid sequence is one error; a byte that cannot start
        // or continue one is an error by itself.
        const auto b0 = static_cast<unsigned char>(s[i]);
        std::size_t need = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) need = 1;
        else if (b0 >= 0xE0 && b0 <= 0xEF) { need = 2; if (b0 == 0xE0) lo = 0xA0; if (b0 == 0xED) hi = 0x9F; }
        else if (b0 >= 0xF0 && b0 <= 0xF4) { need = 3; if (b0 == 0xF0) lo = 0x90; if (b0 == 0xF4) hi = 0x8F; }
        std::size_t k = i + 1;
        for (std::size_t seen = 0; seen < need && k < s.size(); ++seen, ++k) {
            const auto b = static_cast<unsigned char>(s[k]);
            if (b < lo || b > hi) break;
            lo = 0x80;
            hi = 0xBF;
        }
        out += "\xEF\xBF\xBD";
        i = k;
    }
    return out;
}

namespace {
std::uint32_t category_mask(char32_t c) { return U_GET_GC_MASK(static_cast<UChar32>(c)); }
}  // namespace

bool is_letter(char32_t c) {
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return (category_mask(c) & U_GC_L_MASK) != 0;
}
bool is_number(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return (category_mask(c) & U_GC_N_MASK) != 0;
}
bool is_mark(char32_t c) { return c >= 0x300 && (category_mask(c) & U_GC_M_MASK) != 0; }
bool is_nonspacing_mark(char32_t c) { return c >= 0x300 && (category_mask(c) & U_GC_MN_MASK) != 0; }
bool is_punctuation(char32_t c) { return (category_mask(c) & U_GC_P_MASK) != 0; }
bool is_js_space(char32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000 || c == 0xFEFF;
}
bool is_white_space(char32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}
bool is_other_control(char32_t c) {
    if (c < 0x80) return c < 0x20 || c == 0x7F;
    return (category_mask(c) & (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK)) != 0;
}

namespace {

const UNormalizer2* normalizer_for(NormalForm form) {
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2* n = nullptr;
    switch (form) {
        case NormalForm::NFC: n = unorm2_getNFCInstance(&err); break;
        case NormalForm::NFD: n = unorm2_getNFDInstance(&err); break;
        case NormalForm::NFKC: n = unorm2_getNFKCInstance(&err); break;
        case NormalForm::NFKD: n = unorm2_getNFKDInstance(&err); break;
    }
    if (U_FAILURE(err) || n == nullptr)
        throw TokenizerError(std::string("unicode normalization: ICU has no normalizer data (") + u_errorName(err) + ")");
    return n;
}

void append_utf16(std::u16string& out, char32_t c) {
    if (c < 0x10000) {
        out.push_back(static_cast<char16_t>(c));
    } else {
        c -= 0x10000;
        out.push_back(static_cast<char16_t>(0xD800 + (c >> 10)));
        out.push_back(static_cast<char16_t>(0xDC00 + (c & 0x3FF)));
    }
}

// Appends the code points of UTF-16 `s`, each with span `span`.
void append_from_utf16(Text& out, const char16_t* s, int32_t n, Span span) {
    for (int32_t i = 0; i < n;) {
        UChar32 c;
        U16_NEXT(s, i, n, c);
        out.push(static_cast<char32_t>(c), span);
    }
}

}  // namespace

Text normalize(const Text& text, NormalForm form) {
    const UNormalizer2* norm = normalizer_for(form);
    const char32_t unchanged_below = (form == NormalForm::NFC || form == NormalForm::NFD) ? 0xC0 : 0xA0;
    if (std::all_of(text.chars.begin(), text.chars.end(), [&](char32_t c) { return c < unchanged_below; })) return text;
    Text out;
    out.chars.reserve(text.size());
    out.spans.reserve(text.size());
    std::u16string segment;
    std::vector<char16_t> result;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t j = i + 1;
        // Below U+0300 every character starts a segment (no mark, nothing that composes backwards).
        while (j < text.size() && text.chars[j] >= 0x300 && !unorm2_hasBoundaryBefore(norm, static_cast<UChar32>(text.chars[j]))) ++j;
        if (j == i + 1 && text.chars[i] < unchanged_below) {
            out.push(text.chars[i], text.spans[i]);
            i = j;
            continue;
        }
        segment.clear();
        const Span span = join_spans(text.spans, i, j);
        for (std::size_t k = i; k < j; ++k) append_utf16(segment, text.chars[k]);
        UErrorCode err = U_ZERO_ERROR;
        result.resize(segment.size() * 4 + 8);
        int32_t n = unorm2_normalize(norm, reinterpret_cast<const UChar*>(segment.data()), static_cast<int32_t>(segment.size()),
                                     reinterpret_cast<UChar*>(result.data()), static_cast<int32_t>(result.size()), &err);
        if (err == U_BUFFER_OVERFLOW_ERROR) {
            err = U_ZERO_ERROR;
            result.resize(static_cast<std::size_t>(n));
            n = unorm2_normalize(norm, reinterpret_cast<const UChar*>(segment.data()), static_cast<int32_t>(segment.size()),
                                 reinterpret_cast<UChar*>(result.data()), n, &err);
        }
        if (U_FAILURE(err)) throw TokenizerError(std::string("unicode normalization: ICU failed (") + u_errorName(err) + ")");
        append_from_utf16(out, result.data(), n, span);
        i = j;
    }
    return out;
}

namespace {

bool is_cased(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_CASED) != 0; }
bool is_case_ignorable(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_CASE_IGNORABLE) != 0; }

// Unicode's Final_Sigma: a cased letter before (skipping case-ignorables), none after.
bool is_final_sigma(const std::u32string& s, std::size_t i) {
    std::size_t k = i;
    bool before = false;
    while (k > 0) {
        const char32_t c = s[--k];
        if (is_case_ignorable(c)) continue;
        before = is_cased(c);
        break;
    }
    if (!before) return false;
    for (k = i + 1; k < s.size(); ++k) {
        const char32_t c = s[k];
        if (is_case_ignorable(c)) continue;
        return !is_cased(c);
    }
    return true;
}

}  // namespace

Text lowercase(const Text& text) {
    Text out;
    out.chars.reserve(text.size());
    out.spans.reserve(text.size());
    std::u16string in16;
    char16_t buffer[16];
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char32_t c = text.chars[i];
        if (c < 0x80) {
            out.push((c >= 'A' && c <= 'Z') ? c + 32 : c, text.spans[i]);
            continue;
        }
        if (c == 0x3A3) {
            out.push(is_final_sigma(text.chars, i) ? 0x3C2 : 0x3C3, text.spans[i]);
            continue;
        }
        in16.clear();
        append_utf16(in16, c);
        UErrorCode err = U_ZERO_ERROR;
        const int32_t n = u_strToLower(reinterpret_cast<UChar*>(buffer), 16, reinterpret_cast<const UChar*>(in16.data()),
                                       static_cast<int32_t>(in16.size()), "", &err);
        if (U_FAILURE(err)) throw TokenizerError(std::string("lowercase: ICU failed (") + u_errorName(err) + ")");
        append_from_utf16(out, buffer, n, text.spans[i]);
    }
    return out;
}

}  // namespace graft::tokenizers::detail
