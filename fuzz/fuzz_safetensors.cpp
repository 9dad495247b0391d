// libFuzzer target for the safetensors reader: any input either fails with IOError or is a file
// whose every tensor can be read inside the input and that survives a save/load round trip
// unchanged. Anything else (another exception, a sanitizer report, a mismatch) is a finding.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "graft/error.hpp"
#include "io/safetensors_format.hpp"

namespace {

using graft::StateDict;
using graft::Tensor;
namespace detail = graft::io::detail;

std::string raw_bytes(const Tensor& t) {
    const Tensor c = t.contiguous();
    return std::string(static_cast<const char*>(c.raw_data()), static_cast<std::size_t>(c.numel()) * c.element_size());
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    graft::io::SafetensorsHeader header;
    try {
        header = detail::parse_safetensors(data, size, "fuzz input");
    } catch (const graft::IOError&) {
        return 0;
    }
    // Views of the input live only inside this call, so no owner is needed.
    const StateDict tensors = detail::materialize_tensors(header, data, nullptr);
    std::string image;
    detail::serialize_safetensors(tensors, header.metadata, [&](const void* p, std::size_t n) {
        image.append(static_cast<const char*>(p), n);
    });
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(image.data());
    const graft::io::SafetensorsHeader again = detail::parse_safetensors(bytes, image.size(), "round trip");
    const StateDict reloaded = detail::materialize_tensors(again, bytes, nullptr);
    check(again.metadata == header.metadata);
    check(reloaded.keys() == tensors.keys());
    for (const auto& [name, t] : tensors) {
        const Tensor& r = reloaded.at(name);
        check(r.dtype() == t.dtype() && r.shape() == t.shape());
        check(raw_bytes(r) == raw_bytes(t));  // reads every byte of every tensor
    }
    return 0;
}
