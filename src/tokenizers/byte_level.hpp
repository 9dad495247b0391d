// Internal: GPT-2's byte ↔ character table. Byte-level BPE works on characters that stand for
// bytes: the printable ones stand for themselves ('a' for 0x61), the others (space, controls,
// 0x7F–0xA0, 0xAD) for the characters from U+0100 on ('Ġ' U+0120 for the space 0x20).
#pragma once

#include <array>

namespace graft::tokenizers::detail {

/// The character standing for each byte.
const std::array<char32_t, 256>& byte_to_char();
/// The byte a character stands for, or -1 when it stands for none.
int char_to_byte(char32_t c);

}  // namespace graft::tokenizers::detail
