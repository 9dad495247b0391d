// Writing a whole small file atomically: a temporary file beside the target, synced and renamed
// over it (the mechanism save_safetensors uses), for the JSON files written next to tensors.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace graft::io::detail {

/// Replaces `path` with `bytes`, or leaves any previous file unchanged. IOError starting
/// "`source`: " when the temporary file cannot be created, written, synced or renamed.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes, const std::string& source);

}  // namespace graft::io::detail
