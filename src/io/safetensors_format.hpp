// Internal: the safetensors parser, tensor materialisation and serialisation, working on bytes in
// memory so that the file functions, the tests and the fuzz target (fuzz/) share one code path.
#pragma once

#include <cstddef>
#include <cstdint>
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

/// The tensors of an image that parse_safetensors accepted, in header order. F32/F64/I64/I32
/// tensors whose bytes are aligned for their type are read-only views of `bytes` that keep
/// `owner` alive; all others are converted copies.
StateDict materialize_tensors(const SafetensorsHeader& header, const std::uint8_t* bytes,
                              const std::shared_ptr<const void>& owner);

/// Receives a serialised image piece by piece; throws to abort.
using ByteSink = std::function<void(const void* data, std::size_t nbytes)>;

/// Streams the safetensors image of `tensors` and `metadata` to `sink`: the 8-byte header length,
/// the JSON header (tensors in dict order, padded with spaces to a multiple of 8), then the data,
/// largest element size first so every tensor is aligned for its type. ValueError for an undefined
/// tensor or an unstorable name, before anything reaches the sink.
void serialize_safetensors(const StateDict& tensors, const Metadata& metadata, const ByteSink& sink);

}  // namespace graft::io::detail
