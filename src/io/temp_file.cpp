// The atomic writer of io/temp_file.hpp: temporary files, their locks and the cleanup of a dead
// writer's leftovers.
#include "io/temp_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string_view>
#include <utility>

#include "graft/error.hpp"
#include "io/printable.hpp"

namespace graft::io::detail {

namespace {

// A target's temporary files are named ".<target name>.tmp-<writer pid>-<16 hex digits>" (the pid
// tells a person who wrote it). The writer holds an exclusive flock on its file from creation
// until the file is renamed or removed; the kernel drops the lock when the writer dies, however it
// dies, so a temporary file nobody holds a lock on is a dead writer's.

std::filesystem::path folder_of(const std::filesystem::path& target) {
    return target.parent_path().empty() ? "." : target.parent_path();
}

std::string temp_prefix(const std::filesystem::path& target) {
    // Appended in place: "." + name trips a false -Wrestrict warning of GCC 12.
    std::string prefix = target.filename().string();
    prefix.insert(0, 1, '.');
    return prefix += ".tmp-";
}

/// Whether `name` is one of the target's temporary file names (`prefix` from temp_prefix): the
/// prefix, then an optional "<decimal pid>-", then exactly 16 hex digits.
bool is_temp_name(std::string_view name, std::string_view prefix) {
    if (!name.starts_with(prefix)) return false;
    name.remove_prefix(prefix.size());
    auto all_of = [](std::string_view text, auto&& pred) {
        for (char c : text)
            if (!pred(static_cast<unsigned char>(c))) return false;
        return true;
    };
    if (const std::size_t dash = name.find('-'); dash != std::string_view::npos) {
        if (dash == 0 || !all_of(name.substr(0, dash), [](unsigned char c) { return c >= '0' && c <= '9'; }))
            return false;
        name.remove_prefix(dash + 1);
    }
    return name.size() == 16 && all_of(name, [](unsigned char c) { return std::isxdigit(c) != 0; });
}

/// Whether the descriptor and the path refer to the same file (the path may have been replaced).
bool same_file(int fd, const std::filesystem::path& path) {
    struct stat opened {}, named {};
    return ::fstat(fd, &opened) == 0 && ::lstat(path.c_str(), &named) == 0 && opened.st_dev == named.st_dev &&
           opened.st_ino == named.st_ino;
}

/// Removes the temporary files of `target` that no live writer holds. Best effort: a file that
/// cannot be opened, locked or removed stays (a file system without flock support keeps them all).
void remove_stale_temp_files(const std::filesystem::path& target) {
    const std::string prefix = temp_prefix(target);
    std::error_code ec;
    std::filesystem::directory_iterator it(folder_of(target), ec);
    for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::filesystem::path path = it->path();
        if (!is_temp_name(path.filename().string(), prefix)) continue;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) continue;
        struct stat st {};
        // Locked, it is ours until closed: a writer that creates the same name now sees our lock
        // or, once we have unlinked it, a path that no longer names its file, and picks another.
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && same_file(fd, path))
            ::unlink(path.c_str());
        ::close(fd);
    }
}

}  // namespace

TempFile::TempFile(const std::filesystem::path& target, std::string source)
    : target_(target), source_(std::move(source)) {
    remove_stale_temp_files(target);
    const std::filesystem::path folder = folder_of(target);
    // Not mkstemp: its files are 0600, while a saved model should get the permissions the
    // umask gives any new file. O_EXCL with a random name is as safe.
    std::random_device entropy;
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
        char suffix[48];
        std::snprintf(suffix, sizeof suffix, "%ld-%08x%08x", static_cast<long>(::getpid()), entropy(), entropy());
        path_ = folder / (temp_prefix(target) + suffix);
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ < 0 && errno != EEXIST) {
            const int error = errno;
            fail(error, "cannot create a temporary file in " + quote(folder.string()));
        }
        if (fd_ >= 0 && !hold(fd_)) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    if (fd_ < 0) fail(EEXIST, "cannot find a free temporary file name in " + quote(folder.string()));
}

TempFile::~TempFile() {
    // Unlinked while still locked, so that no cleanup of another save sees it half gone.
    if (!committed_) ::unlink(path_.c_str());
    if (fd_ >= 0) ::close(fd_);
}

void TempFile::write(const void* data, std::size_t nbytes) {
    const auto* p = static_cast<const char*>(data);
    while (nbytes > 0) {
        const ssize_t n = ::write(fd_, p, std::min<std::size_t>(nbytes, std::size_t{1} << 30));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int error = errno;
            fail(error, "writing failed after " + std::to_string(written_) + " bytes");
        }
        p += n;
        nbytes -= static_cast<std::size_t>(n);
        written_ += static_cast<std::uint64_t>(n);
    }
}

void TempFile::commit() {
    check(::fsync(fd_) == 0, "syncing the temporary file failed");
    check(::rename(path_.c_str(), target_.c_str()) == 0, "cannot replace it with the temporary file");
    committed_ = true;
    ::close(fd_);  // synced already: nothing left to report
    fd_ = -1;
    const std::filesystem::path folder = folder_of(target_);
    const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return;  // a folder we may write but not read cannot be synced; the rename stands
    const int synced = ::fsync(dir);
    const int error = errno;
    ::close(dir);
    if (synced != 0 && error != EINVAL)  // EINVAL: the file system does not sync folders
        throw IOError(source_ + ": saved, but syncing the folder failed (" + std::strerror(error) +
                      "); the new file may not survive a crash");
}

/// Locks the new file at path_ against remove_stale_temp_files; false when a concurrent
/// cleanup took it first (it holds the lock or has removed the name). Without flock support
/// the file stays unlocked, and no cleanup on that file system can lock it either.
bool TempFile::hold(int fd) const {
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return errno != EWOULDBLOCK;
    return same_file(fd, path_);
}

/// Throws for a failed call (`ok` false), with its errno.
void TempFile::check(bool ok, const char* what) const {
    if (ok) return;
    const int error = errno;
    fail(error, what);
}

/// `error` is the errno of the failed call, taken before building the message can change it.
void TempFile::fail(int error, const std::string& what) const {
    throw IOError(source_ + ": " + what + ": " + std::strerror(error) + " (any previous file is unchanged)");
}

}  // namespace graft::io::detail
