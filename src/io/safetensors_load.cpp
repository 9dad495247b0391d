// Loading safetensors files: a read-only memory map, the parser, then tensors that view the map
// where they can and converted copies where they must.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>

#include "io/readable_file.hpp"
#include "io/safetensors_format.hpp"

namespace graft::io {

namespace detail {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data, which graft reads in place");

namespace {

/// Reads `count` little-endian elements of type Raw at `src` (any alignment) into `out` via `convert`.
template <class Raw, class Out, class Convert>
void convert_elements(const std::uint8_t* src, std::int64_t count, Out* out, Convert convert) {
    for (std::int64_t i = 0; i < count; ++i) {
        Raw raw;
        std::memcpy(&raw, src + i * static_cast<std::int64_t>(sizeof(Raw)), sizeof(Raw));
        out[i] = convert(raw);
    }
}

}  // namespace

Tensor materialize_tensor(const SafetensorsTensorInfo& info, const SafetensorsHeader& header, const std::uint8_t* bytes,
                          const std::shared_ptr<const void>& owner, HalfTensors half) {
    const FileDType& file_dtype = *find_file_dtype(info.dtype);
    const std::uint8_t* src = bytes + header.data_offset + info.data_begin;
    const std::int64_t count = shape_numel(info.shape);
    const std::size_t nbytes = info.data_end - info.data_begin;
    const bool is_half = file_dtype.name == "BF16" || file_dtype.name == "F16";
    const bool aligned = reinterpret_cast<std::uintptr_t>(src) % file_dtype.size == 0;
    if (count > 0 && aligned && is_half && half == HalfTensors::KeepAsViews) {
        const DType stored = file_dtype.name == "BF16" ? DType::BFloat16 : DType::Float16;
        return from_blob(const_cast<std::uint8_t*>(src), info.shape, stored, [owner](void*) {}, /*writable=*/false);
    }
    if (count == 0) return empty(info.shape, file_dtype.loads_as);
    if (file_dtype.same_representation && aligned) {
        // In place: the mapping is read-only, so the tensor is too; the deleter keeps it mapped.
        return from_blob(const_cast<std::uint8_t*>(src), info.shape, file_dtype.loads_as, [owner](void*) {},
                         /*writable=*/false);
    }
    Tensor t = empty(info.shape, file_dtype.loads_as);
    if (file_dtype.same_representation) {
        std::memcpy(t.raw_data(), src, nbytes);  // misaligned in the file
    } else if (file_dtype.name == "BF16") {
        convert_elements<std::uint16_t>(src, count, t.data_ptr<float>(),
                                        [](std::uint16_t b) { return bf16_to_float(bfloat16{b}); });
    } else if (file_dtype.name == "F16") {
        convert_elements<std::uint16_t>(src, count, t.data_ptr<float>(),
                                        [](std::uint16_t b) { return f16_to_float(float16{b}); });
    } else if (file_dtype.name == "U8") {
        convert_elements<std::uint8_t>(src, count, t.data_ptr<std::int32_t>(),
                                       [](std::uint8_t b) { return static_cast<std::int32_t>(b); });
    } else {
        // BOOL: any non-zero byte is true, as in PyTorch.
        convert_elements<std::uint8_t>(src, count, t.data_ptr<bool>(), [](std::uint8_t b) { return b != 0; });
    }
    return t;
}

StateDict materialize_tensors(const SafetensorsHeader& header, const std::uint8_t* bytes,
                              const std::shared_ptr<const void>& owner) {
    StateDict dict;
    for (const SafetensorsTensorInfo& info : header.tensors)
        dict.insert(info.name, materialize_tensor(info, header, bytes, owner));
    return dict;
}

}  // namespace detail

namespace {

std::string describe(const std::filesystem::path& path) {
    return "safetensors file " + detail::quote(path.string());
}

/// A whole file mapped read-only and private; unmapped when the last tensor viewing it is gone.
class FileMapping {
public:
    FileMapping(const FileMapping&) = delete;
    FileMapping& operator=(const FileMapping&) = delete;
    ~FileMapping() {
        if (data_ != nullptr) ::munmap(data_, size_);
    }

    /// Maps `path`; files shorter than 8 bytes are read instead (they only need an error message).
    static std::shared_ptr<FileMapping> open(const std::filesystem::path& path, const std::string& source) {
        const detail::ReadableFile file(path, "read_safetensors");
        auto mapping = std::shared_ptr<FileMapping>(new FileMapping());
        mapping->map(file, source);
        return mapping;  // the mapping stays valid without the descriptor
    }

    const std::uint8_t* data() const {
        return data_ != nullptr ? static_cast<const std::uint8_t*>(data_) : small_.data();
    }
    std::size_t size() const { return size_; }

private:
    FileMapping() = default;

    void map(const detail::ReadableFile& file, const std::string& source) {
        size_ = file.size();
        if (size_ < small_.size()) {
            const ssize_t got = ::pread(file.fd(), small_.data(), size_, 0);
            if (got < 0 || static_cast<std::size_t>(got) != size_)
                throw IOError(source + ": cannot read: " + std::strerror(errno));
            return;
        }
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
        if (p == MAP_FAILED) throw IOError(source + ": cannot memory-map: " + std::strerror(errno));
        data_ = p;
    }

    void* data_ = nullptr;
    std::size_t size_ = 0;
    std::array<std::uint8_t, 8> small_{};
};

}  // namespace

namespace detail {

MappedSafetensors map_safetensors(const std::filesystem::path& path) {
    const std::string source = describe(path);
    auto mapping = FileMapping::open(path, source);
    SafetensorsHeader header = parse_safetensors(mapping->data(), mapping->size(), source);
    const std::uint8_t* bytes = mapping->data();
    return MappedSafetensors{std::move(header), bytes, std::move(mapping)};
}

}  // namespace detail

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
    detail::MappedSafetensors file = detail::map_safetensors(path);
    StateDict tensors = detail::materialize_tensors(file.header, file.bytes, file.owner);
    return SafetensorsFile{std::move(tensors), std::move(file.header.metadata)};
}

StateDict load_safetensors(const std::filesystem::path& path) { return read_safetensors(path).tensors; }

SafetensorsHeader read_safetensors_header(const std::filesystem::path& path) {
    return detail::map_safetensors(path).header;
}

}  // namespace graft::io
