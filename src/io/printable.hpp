// Internal: text from files (names, cells, paths, metadata) made safe to show in an error message:
// any bytes in, printable UTF-8 of bounded length out.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace graft::io::detail {

/// `text` made safe for an error message: control bytes (NUL included) and bytes that are not
/// well-formed UTF-8 escaped as \xNN, and text past `max_shown` bytes cut, with "…(N bytes)"
/// giving the full length.
std::string printable(std::string_view text, std::size_t max_shown = 200);
/// printable(text, max_shown) in single quotes, for names and values.
std::string quote(std::string_view text, std::size_t max_shown = 200);

}  // namespace graft::io::detail
