// Internal: small helpers the optimizers' and schedulers' state dicts share.
#pragma once

#include <sstream>
#include <string>

#include "graft/state_dict.hpp"

namespace graft::optim::detail {

/// A 0-d float64 tensor holding v.
inline Tensor scalar64(double v) { return scalar_tensor(v, DType::Float64); }

/// The value of a one-element numeric tensor; ValueError "<who>: '<key>' must be …" otherwise.
inline double read_scalar(const std::string& who, const std::string& key, const Tensor& t) {
    if (!t.defined() || t.numel() != 1 || t.dtype() == DType::Bool || is_storage_only(t.dtype()))
        throw ValueError(who + ": '" + key + "' must be a one-element numeric tensor, got " +
                         (t.defined() ? std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape())
                                      : std::string("an undefined tensor")));
    return t.item<double>();
}

/// "a, b, c" from a dict's keys.
inline std::string join_keys(const StateDict& dict) {
    std::string out;
    for (const auto& [key, t] : dict) out += (out.empty() ? "" : ", ") + key;
    return out;
}

/// A double as a stream prints it ("0.001", "-1", "inf").
inline std::string number(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

}  // namespace graft::optim::detail
