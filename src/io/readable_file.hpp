// Internal: opening a file for reading, with the errors every loader gives (safetensors files,
// checkpoints, LoRA adapters, CSV and gzip tables, model configs).
//
//   ReadableFile file(path, "read_csv");   // IOError "read_csv: '<path>' is a directory", …
//   std::string bytes = file.read_all();
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace graft::io::detail {

/// A regular file open for reading; the descriptor is closed on destruction.
class ReadableFile {
public:
    /// Opens `path`. IOError starting "`who`: " and naming the path when it cannot be opened
    /// ("cannot open '<path>': <strerror>"), is a directory ("'<path>' is a directory") or is not a
    /// regular file (a FIFO or a device; opened without blocking, so this never hangs).
    ReadableFile(const std::filesystem::path& path, const std::string& who);
    ~ReadableFile();
    ReadableFile(const ReadableFile&) = delete;
    ReadableFile& operator=(const ReadableFile&) = delete;

    int fd() const { return fd_; }
    /// The size when the file was opened.
    std::size_t size() const { return size_; }
    /// The whole content; IOError when reading fails or the file grows past `max_bytes`.
    std::string read_all(std::size_t max_bytes) const;
    /// "`who`: '<path>'", the start of a message about this file.
    const std::string& where() const { return where_; }

private:
    std::string where_;
    int fd_ = -1;
    std::size_t size_ = 0;
};

}  // namespace graft::io::detail
