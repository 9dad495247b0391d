// Saving safetensors files: the image is planned and checked first, then streamed into a
// temporary file next to the target, synced, and renamed over the target (io/temp_file.hpp).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "io/atomic_write.hpp"
#include "io/safetensors_format.hpp"
#include "io/temp_file.hpp"

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

void save_safetensors(const std::filesystem::path& path, const StateDict& tensors, const Metadata& metadata) {
    const std::string source = "save_safetensors: " + detail::quote(path.string());
    if (path.filename().empty()) throw IOError(source + ": the path names a folder, not a file");
    const detail::SavePlan plan = detail::plan(tensors, metadata);
    detail::TempFile file(path, source);
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
