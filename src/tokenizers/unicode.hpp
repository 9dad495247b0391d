// Internal: the Unicode the tokenizers need — UTF-8 in and out, code points that remember the
// bytes of the original text they came from, general categories, normalization forms and full
// lowercasing (ICU's data), each matching what JavaScript's String methods do, since the JS port
// of Hugging Face's tokenizers is the reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace graft::tokenizers::detail {

/// [begin, end) bytes of the original text.
struct Span {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
};

/// Code points, each with the span of the original text it stands for. Normalizers rewrite
/// the code points and keep the spans of the characters they came from, so that offsets survive.
struct Text {
    std::u32string chars;
    std::vector<Span> spans;

    std::size_t size() const { return chars.size(); }
    bool empty() const { return chars.empty(); }
    void push(char32_t c, Span s) { chars.push_back(c); spans.push_back(s); }
    /// chars [begin, end) with their spans.
    Text sub(std::size_t begin, std::size_t end) const;
};

/// The smallest span covering `spans[begin, end)` (begin < end).
Span join_spans(const std::vector<Span>& spans, std::size_t begin, std::size_t end);

/// The code points of `utf8`, each spanning its own bytes shifted by `base`. TokenizerError
/// naming `who` and the byte offset when `utf8` is not valid UTF-8 (overlong forms, surrogates
/// and values above U+10FFFF included), or holds 2^32 bytes or more.
Text decode_utf8(std::string_view utf8, const char* who, std::size_t base = 0);
/// The code points alone (same checks).
std::u32string to_u32(std::string_view utf8, const char* who);
void append_utf8(std::string& out, char32_t c);
/// Whether every byte is below 0x80 (ASCII text, valid UTF-8).
bool is_ascii(std::string_view bytes);
std::string to_utf8(std::u32string_view chars);
/// UTF-8 bytes to text the way the WHATWG TextDecoder (non-fatal) does: each maximal invalid
/// subsequence becomes U+FFFD. Used by the decoders, where byte tokens may cut a character.
std::string utf8_lossy(std::string_view bytes);

bool is_letter(char32_t c);       ///< \p{L}
bool is_number(char32_t c);       ///< \p{N}
bool is_mark(char32_t c);         ///< \p{M}
bool is_nonspacing_mark(char32_t c);  ///< \p{Mn}
bool is_punctuation(char32_t c);  ///< \p{P}
bool is_js_space(char32_t c);     ///< JavaScript's \s (what String.trim removes)
bool is_white_space(char32_t c);  ///< \p{White_Space} (\s in the reference's Split regexes)
/// \p{Cc} \p{Cf} \p{Co} \p{Cs}: what BERT's clean_text drops (\t \n \r excepted by the caller).
bool is_other_control(char32_t c);

enum class NormalForm { NFC, NFD, NFKC, NFKD };
/// String.prototype.normalize(form): composition and decomposition run on segments that ICU
/// says normalize independently, each output character taking the span of its whole segment.
Text normalize(const Text& text, NormalForm form);
/// String.prototype.toLowerCase(): the full lowercase mapping ("İ" → "i̇"), final sigma included.
Text lowercase(const Text& text);

}  // namespace graft::tokenizers::detail
