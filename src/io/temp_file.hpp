// Internal: writing a file atomically. The bytes go to a temporary file beside the target, which is
// synced and renamed over the target only when complete, so a reader sees the old file or the new
// one, never a part (safetensors files, PNG images). Temporary files that a killed writer left
// behind are removed by the next write of the same target.
//
//   TempFile file(path, "write_png: '<path>'");   // IOError messages start with the second argument
//   file.write(bytes.data(), bytes.size());
//   file.commit();                                  // without it, the destructor removes the file
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace graft::io::detail {

/// A new file beside the target, removed on destruction unless committed (renamed over the target).
/// Creating one first removes the target's stale temporary files (those no live writer holds).
class TempFile {
public:
    /// IOError starting with `source` when no temporary file can be created in the target's folder.
    TempFile(const std::filesystem::path& target, std::string source);
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile();

    /// Appends `nbytes` bytes; IOError (with the errno's text) when writing fails.
    void write(const void* data, std::size_t nbytes);
    /// Syncs the file, renames it over the target and syncs the folder so the rename lasts. The
    /// file is closed (its lock released) only once it has its final name.
    void commit();

private:
    bool hold(int fd) const;
    void check(bool ok, const char* what) const;
    [[noreturn]] void fail(int error, const std::string& what) const;

    std::filesystem::path target_;
    std::filesystem::path path_;
    std::string source_;
    int fd_ = -1;
    bool committed_ = false;
    std::uint64_t written_ = 0;
};

}  // namespace graft::io::detail
