// Internal: GPT-2's byte ↔ character table (byte_level.hpp), built as GPT-2's bytes_to_unicode.
#include "tokenizers/byte_level.hpp"

namespace graft::tokenizers::detail {

namespace {

bool stands_for_itself(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

std::array<char32_t, 256> build_table() {
    std::array<char32_t, 256> table{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) table[static_cast<std::size_t>(b)] = stands_for_itself(b) ? static_cast<char32_t>(b) : next++;
    return table;
}

}  // namespace

const std::array<char32_t, 256>& byte_to_char() {
    static const std::array<char32_t, 256> table = build_table();
    return table;
}

int char_to_byte(char32_t c) {
    static const std::array<int, 324> inverse = [] {
        std::array<int, 324> inv{};
        inv.fill(-1);
        const auto& table = byte_to_char();
        for (int b = 0; b < 256; ++b) inv[table[static_cast<std::size_t>(b)]] = b;
        return inv;
    }();
    return c < inverse.size() ? inverse[c] : -1;
}

}  // namespace graft::tokenizers::detail
