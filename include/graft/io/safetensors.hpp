// graft/io/safetensors.hpp — reading and writing safetensors files.
//
//   auto report = model.load_state_dict(io::load_safetensors("pretrained.safetensors"));
//   io::save_safetensors("finetuned.safetensors", model.state_dict(), {{"epochs", "3"}});
//   auto file = io::read_safetensors("finetuned.safetensors");     // tensors + metadata
//   std::cout << file.metadata.at("epochs");
//
// Loading memory-maps the file and validates the whole header before any tensor is made.
// F32, F64, I64 and I32 tensors whose bytes are suitably aligned in the file are read-only
// views of the mapping (no copy; an in-place op on them throws, so training never writes to
// the file; load_state_dict copies them into the model). BF16 and F16 become float32, U8
// becomes int32 and BOOL stays bool, all copied. The mapping lives as long as any tensor
// viewing it. Saving writes a temporary file next to the target and renames it over the target
// once it is fully on disk. The format and the checks: docs/safetensors.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "graft/state_dict.hpp"
#include "graft/tensor.hpp"

namespace graft::io {

/// The free-form string → string map stored under "__metadata__".
using Metadata = std::map<std::string, std::string>;

/// A file's tensors (in the order the header lists them) and its metadata.
struct SafetensorsFile {
    StateDict tensors;
    Metadata metadata;
};

/// One tensor as the file describes it, before any conversion.
struct SafetensorsTensorInfo {
    std::string name;
    std::string dtype;        // the file's dtype name: "F32", "BF16", "U8", …
    Shape shape;
    std::uint64_t data_begin;  // byte range inside the data area (after the header)
    std::uint64_t data_end;
};

/// A file's validated header: tensor descriptions in header order, metadata, and where the data starts.
struct SafetensorsHeader {
    std::vector<SafetensorsTensorInfo> tensors;
    Metadata metadata;
    std::uint64_t data_offset;  // file offset of the data area: 8 + header length
};

/// Reads the tensors and metadata of a safetensors file; IOError naming the file (and the tensor)
/// if it cannot be read or is malformed in any way.
SafetensorsFile read_safetensors(const std::filesystem::path& path);

/// The tensors of a safetensors file, in header order (read_safetensors without the metadata).
StateDict load_safetensors(const std::filesystem::path& path);

/// Validates a file completely, like a load, and describes its tensors without converting any.
SafetensorsHeader read_safetensors_header(const std::filesystem::path& path);

/// Writes `tensors` (any dtype; non-contiguous ones are written contiguously) and `metadata` to
/// `path`, replacing a file there only once the new one is complete and synced. The header lists
/// the tensors in dict order. On failure the previous file is untouched, no temporary file remains,
/// and IOError is thrown (ValueError for an undefined tensor or a name that cannot be stored).
/// Temporary files of `path` left by a writer that was killed are removed first; those of a live
/// writer are not (docs/safetensors.md, Atomicity).
void save_safetensors(const std::filesystem::path& path, const StateDict& tensors, const Metadata& metadata = {});

}  // namespace graft::io
