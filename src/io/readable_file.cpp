// ReadableFile: open, check that it is a regular file, read.
#include "io/readable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "graft/error.hpp"
#include "io/printable.hpp"

namespace graft::io::detail {

ReadableFile::ReadableFile(const std::filesystem::path& path, const std::string& who)
    : where_(who + ": " + quote(path.string())) {
    // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) {
        const int error = errno;
        throw IOError(who + ": cannot open " + quote(path.string()) + ": " + std::strerror(error));
    }
    struct stat st {};
    const int error = ::fstat(fd_, &st) == 0 ? 0 : errno;
    if (error != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd_);
        if (error != 0) throw IOError(where_ + ": cannot stat: " + std::strerror(error));
        throw IOError(where_ + (S_ISDIR(st.st_mode) ? " is a directory" : " is not a regular file"));
    }
    size_ = static_cast<std::size_t>(st.st_size);
}

ReadableFile::~ReadableFile() { ::close(fd_); }

std::string ReadableFile::read_all(std::size_t max_bytes) const {
    std::string out;
    out.resize(std::min(size_, max_bytes) + 1);  // one more byte shows whether it grew
    std::size_t filled = 0;
    while (true) {
        if (filled == out.size()) {
            if (out.size() > max_bytes)
                throw IOError(where_ + ": the file is larger than " + std::to_string(max_bytes) + " bytes");
            out.resize(std::min(out.size() * 2, max_bytes + 1));
        }
        const ssize_t n = ::pread(fd_, out.data() + filled, out.size() - filled, static_cast<off_t>(filled));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int error = errno;
            throw IOError(where_ + ": reading failed after " + std::to_string(filled) + " bytes: " + std::strerror(error));
        }
        if (n == 0) break;
        filled += static_cast<std::size_t>(n);
    }
    out.resize(filled);
    return out;
}

}  // namespace graft::io::detail
