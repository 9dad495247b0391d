// Reading a whole text file for the data loaders and model configs, transparently gunzipping it when it starts with
// the gzip magic bytes (so "table.csv.gz" works wherever "table.csv" does).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace graft::io::detail {

/// Decompressed text larger than this is refused (a guard against gzip bombs).
inline constexpr std::size_t max_text_bytes = std::size_t{1} << 31;

/// The file's contents, gunzipped if it is gzip data. IOError starting "`who`: " and naming the
/// path when it cannot be opened or read or is not a regular file (io::detail::ReadableFile),
/// when the gzip stream is corrupt or truncated, or when the text would exceed max_text_bytes.
std::string read_text_file(const std::filesystem::path& path, const char* who);

}  // namespace graft::io::detail
