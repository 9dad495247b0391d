// Text from files made safe to show in error messages.
#include "io/printable.hpp"

namespace graft::io::detail {

namespace {

/// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629), 0 if there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < length; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    return length;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_shown) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    std::size_t i = 0;
    while (i < text.size() && out.size() < max_shown) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t length = utf8_sequence_length(text, i);
        if (length == 1 && c >= 0x20 && c != 0x7f) {
            out += static_cast<char>(c);
        } else if (length > 1) {
            out.append(text.substr(i, length));
            i += length;
            continue;
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
        ++i;
    }
    if (i < text.size()) out += "…(" + std::to_string(text.size()) + " bytes)";
    return out;
}

std::string quote(std::string_view text, std::size_t max_shown) {
    std::string out = "'";
    out += printable(text, max_shown);
    return out += '\'';
}

}  // namespace graft::io::detail
