// Saving safetensors files: the image is planned and checked first, then streamed into a
// temporary file next to the target, synced, and renamed over the target. Temporary files that a
// killed writer left behind are removed by the next save of the same target.
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

#include <nlohmann/json.hpp>

#include "io/atomic_write.hpp"
#include "io/safetensors_format.hpp"

namespace graft::io {

namespace detail {

namespace {

/// What to write: the header (length prefix included) and the tensors in data order.
struct SavePlan {
    std::string header;
    std::vector<std::pair<Tensor, std::size_t>> data;  // (tensor, byte count), in file order
};

/// `text` as a JSON string; ValueError when it is not UTF-8 (JSON cannot hold it).
std::string json_string(const std::string& text, const std::string& what) {
    try {
        return nlohmann::json(text).dump();
    } catch (const nlohmann::json::type_error&) {
        throw ValueError("save_safetensors: " + what + " " + quote(text) + " is not valid UTF-8");
    }
}

SavePlan plan(const StateDict& tensors, const Metadata& metadata) {
    struct Slot {
        const std::string* name;
        const Tensor* tensor;
        std::size_t nbytes;
        std::uint64_t begin = 0;
    };
    std::vector<Slot> slots;
    slots.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        if (!t.defined()) throw ValueError("save_safetensors: tensor " + quote(name) + " is undefined");
        if (name == "__metadata__")
            throw ValueError("save_safetensors: a tensor cannot be named '__metadata__' (the format reserves it)");
        slots.push_back(Slot{&name, &t, static_cast<std::size_t>(t.numel()) * t.element_size()});
    }
    // Data order: largest element size first (stable), so that every tensor starts at a
    // multiple of its element size and loads in place. The header keeps the dict's order.
    std::vector<Slot*> by_size;
    for (Slot& s : slots) by_size.push_back(&s);
    std::stable_sort(by_size.begin(), by_size.end(), [](const Slot* a, const Slot* b) {
        return a->tensor->element_size() > b->tensor->element_size();
    });
    SavePlan result;
    std::uint64_t offset = 0;
    for (Slot* s : by_size) {
        s->begin = offset;
        offset += s->nbytes;
        result.data.emplace_back(*s->tensor, s->nbytes);
    }

    std::string json = "{";
    if (!metadata.empty()) {
        json += "\"__metadata__\":{";
        bool first = true;
        for (const auto& [key, value] : metadata) {
            if (!first) json += ',';
            first = false;
            json += json_string(key, "metadata key") + ":" + json_string(value, "metadata value");
        }
        json += '}';
    }
    for (const Slot& s : slots) {
        if (json.size() > 1) json += ',';
        json += json_string(*s.name, "tensor name");
        json += ":{\"dtype\":\"" + std::string(file_dtype_name(s.tensor->dtype())) + "\",\"shape\":[";
        for (std::size_t d = 0; d < s.tensor->shape().size(); ++d) {
            if (d > 0) json += ',';
            json += std::to_string(s.tensor->shape()[d]);
        }
        json += "],\"data_offsets\":[" + std::to_string(s.begin) + "," + std::to_string(s.begin + s.nbytes) + "]}";
    }
    json += '}';
    json.append((8 - json.size() % 8) % 8, ' ');  // the data area starts 8-byte aligned
    if (json.size() > kMaxHeaderBytes)
        throw ValueError("save_safetensors: the header would take " + std::to_string(json.size()) +
                         " bytes, more than the " + std::to_string(kMaxHeaderBytes) + " that readers accept");

    result.header.resize(8);
    std::uint64_t length = json.size();
    for (int i = 0; i < 8; ++i, length >>= 8) result.header[i] = static_cast<char>(length & 0xff);  // little-endian
    result.header += json;
    return result;
}

void write_plan(const SavePlan& plan, const ByteSink& sink) {
    sink(plan.header.data(), plan.header.size());
    for (const auto& [tensor, nbytes] : plan.data) {
        if (nbytes == 0) continue;
        const Tensor contiguous = tensor.detach().contiguous();
        sink(contiguous.raw_data(), nbytes);
    }
}

}  // namespace

void serialize_safetensors(const StateDict& tensors, const Metadata& metadata, const ByteSink& sink) {
    write_plan(plan(tensors, metadata), sink);
}

}  // namespace detail

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

/// A new file beside the target, removed on destruction unless committed (renamed over the target).
/// Creating one first removes the target's stale temporary files (see remove_stale_temp_files).
class TempFile {
public:
    TempFile(const std::filesystem::path& target, const std::string& source) : target_(target), source_(source) {
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
                fail(error, "cannot create a temporary file in " + detail::quote(folder.string()));
            }
            if (fd_ >= 0 && !hold(fd_)) {
                ::close(fd_);
                fd_ = -1;
            }
        }
        if (fd_ < 0) fail(EEXIST, "cannot find a free temporary file name in " + detail::quote(folder.string()));
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        // Unlinked while still locked, so that no cleanup of another save sees it half gone.
        if (!committed_) ::unlink(path_.c_str());
        if (fd_ >= 0) ::close(fd_);
    }

    void write(const void* data, std::size_t nbytes) {
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

    /// Syncs the file, renames it over the target and syncs the folder so the rename lasts. The
    /// file is closed (its lock released) only once it has its final name.
    void commit() {
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

private:
    /// Locks the new file at path_ against remove_stale_temp_files; false when a concurrent
    /// cleanup took it first (it holds the lock or has removed the name). Without flock support
    /// the file stays unlocked, and no cleanup on that file system can lock it either.
    bool hold(int fd) const {
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return errno != EWOULDBLOCK;
        return same_file(fd, path_);
    }

    /// Throws for a failed call (`ok` false), with its errno.
    void check(bool ok, const char* what) const {
        if (ok) return;
        const int error = errno;
        fail(error, what);
    }
    /// `error` is the errno of the failed call, taken before building the message can change it.
    [[noreturn]] void fail(int error, const std::string& what) const {
        throw IOError(source_ + ": " + what + ": " + std::strerror(error) + " (any previous file is unchanged)");
    }

    std::filesystem::path target_;
    std::filesystem::path path_;
    const std::string& source_;
    int fd_ = -1;
    bool committed_ = false;
    std::uint64_t written_ = 0;
};

}  // namespace

void save_safetensors(const std::filesystem::path& path, const StateDict& tensors, const Metadata& metadata) {
    const std::string source = "save_safetensors: " + detail::quote(path.string());
    if (path.filename().empty()) throw IOError(source + ": the path names a folder, not a file");
    const detail::SavePlan plan = detail::plan(tensors, metadata);
    TempFile file(path, source);
    detail::write_plan(plan, [&](const void* data, std::size_t nbytes) { file.write(data, nbytes); });
    file.commit();
}

void detail::write_file_atomically(const std::filesystem::path& path, std::string_view bytes, const std::string& source) {
    if (path.filename().empty()) throw IOError(source + ": the path names a folder, not a file");
    TempFile file(path, source);
    file.write(bytes.data(), bytes.size());
    file.commit();
}

}  // namespace graft::io
