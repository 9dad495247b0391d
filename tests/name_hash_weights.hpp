// The weight formula of tests/golden/make_resnet_golden.py (the ResNet and MobileNet/EfficientNet
// goldens): every parameter and buffer set from a hash of its name, in double precision, rounded
// to float32, so a test rebuilds torchvision's filled model without a weight file.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "graft/graft.hpp"

namespace graft::test {

inline std::int64_t name_hash(const std::string& name) {
    std::int64_t h = 0;
    for (unsigned char b : name) h = (h * 131 + b) % 1000003;
    return h;
}

inline std::vector<float> name_hash_formula(std::int64_t n, std::int64_t h, double offset, double scale) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        const std::uint64_t u =
            (static_cast<std::uint64_t>(i) * 2654435761ULL + static_cast<std::uint64_t>(h)) % (1ULL << 32);
        v[static_cast<std::size_t>(i)] =
            static_cast<float>(offset + scale * (static_cast<double>(u) / 2147483648.0 - 1.0));
    }
    return v;
}

/// The formula's tensor for `name` with `shape` (offset_scale() of make_resnet_golden.py).
inline Tensor name_hash_tensor(const std::string& name, const Shape& shape) {
    std::int64_t numel = 1;
    for (auto s : shape) numel *= s;
    const std::string leaf = name.substr(name.rfind('.') + 1);
    double offset = 0, scale = 0.1;
    if (shape.size() == 4) {
        scale = std::sqrt(6.0 / static_cast<double>(numel / shape[0]));
    } else if (shape.size() == 2) {  // a Linear weight
        scale = std::sqrt(3.0 / static_cast<double>(shape[1]));
    } else if (leaf == "weight") {
        offset = 1.0, scale = 0.2;
    } else if (leaf == "running_var") {
        offset = 1.0, scale = 0.5;
    }
    return from_vector(name_hash_formula(numel, name_hash(name), offset, scale), shape);
}

/// Sets every parameter and buffer of `model` as make_resnet_golden.py's fill() does.
inline void fill_by_name(nn::Module& model) {
    StateDict values;
    for (const auto& [name, t] : model.state_dict()) {
        if (name.ends_with("num_batches_tracked")) {
            values.insert(name, from_vector<std::int64_t>({name_hash(name) % 1000}));
            continue;
        }
        values.insert(name, name_hash_tensor(name, t.shape()));
    }
    model.load_state_dict(values);
}

}  // namespace graft::test
