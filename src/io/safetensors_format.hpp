// Internal: the safetensors parser, tensor materialisation and serialisation, working on bytes in
// memory so that the file functions, the tests and the fuzz target (fuzz/) share one code path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "graft/io/safetensors.hpp"
#include "io/printable.hpp"

namespace graft::io::detail {

/// Headers longer than this are refused (the limit upstream safetensors uses).
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

/// A dtype name the format defines that graft reads, its element size, what it loads as, and
/// whether graft can use the file's bytes as they are (same representation: no conversion).
struct FileDType {
    std::string_view name;
    std::size_t size;
    DType loads_as;
    bool same_representation;
};

/// The entry for a file dtype name; nullptr for names graft does not read.
const FileDType* find_file_dtype(std::string_view name);
/// The file dtype name a graft dtype is saved as ("F32", "BF16", …).
std::string_view file_dtype_name(DType dtype);
/// "F32, F64, …": the names graft reads, for error messages.
std::string supported_file_dtypes();

/// Validates the complete safetensors image bytes[0, size) — header and data layout — and
/// describes it; IOError prefixed with `source` on any defect. Reads nothing outside the image.
SafetensorsHeader parse_safetensors(const std::uint8_t* bytes, std::size_t size, const std::string& source);

/// How materialize_tensor treats BF16 and F16 tensors.
enum class HalfTensors {
    /// Converted to float32 copies (what load_safetensors returns).
    ToFloat32,
    /// Read-only BFloat16/Float16 views of the bytes when 2-byte aligned, so that a loader
    /// converting them into a model's float32 parameters one by one needs no float32 copy of the
    /// whole file (io::load_pretrained).
    KeepAsViews,
};

/// One tensor of an image that parse_safetensors accepted. F32/F64/I64/I32 tensors whose bytes
/// are aligned for their type are read-only views of `bytes` that keep `owner` alive (BF16/F16
/// too under HalfTensors::KeepAsViews); all others are converted copies.
Tensor materialize_tensor(const SafetensorsTensorInfo& info, const SafetensorsHeader& header, const std::uint8_t* bytes,
                          const std::shared_ptr<const void>& owner, HalfTensors half = HalfTensors::ToFloat32);

/// Every tensor of the image, in header order (materialize_tensor of each).
StateDict materialize_tensors(const SafetensorsHeader& header, const std::uint8_t* bytes,
                              const std::shared_ptr<const void>& owner);

/// A safetensors file mapped read-only and validated completely: its header, and the image's
/// bytes, kept mapped while `owner` (or a tensor viewing it) lives.
struct MappedSafetensors {
    SafetensorsHeader header;
    const std::uint8_t* bytes = nullptr;
    std::shared_ptr<const void> owner;
};

/// Maps and validates `path`; IOError naming the file on any defect.
MappedSafetensors map_safetensors(const std::filesystem::path& path);

/// Receives a serialised image piece by piece; throws to abort.
using ByteSink = std::function<void(const void* data, std::size_t nbytes)>;

/// Streams the safetensors image of `tensors` and `metadata` to `sink`: the 8-byte header length,
/// the JSON header (tensors in dict order, padded with spaces to a multiple of 8), then the data,
/// largest element size first so every tensor is aligned for its type. ValueError for an undefined
/// tensor or an unstorable name, before anything reaches the sink.
void serialize_safetensors(const StateDict& tensors, const Metadata& metadata, const ByteSink& sink);

}  // namespace graft::io::detail
