// Internal: small helpers the optimizers' and schedulers' state dicts share.
#pragma once

#include <cmath>
#include <cstdint>
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

/// A double as a stream prints it ("0.001", "-1", "inf").
inline std::string number(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

/// The largest count a state dict may hold: every integer up to it is exact in a double.
inline constexpr double kMaxCount = 9007199254740992.0;  // 2^53

/// read_scalar's value as a count (a step, an epoch); ValueError naming the key and the value
/// unless it is an integer in [0, 2^53] (NaN, infinities, fractions and negatives are refused).
inline std::int64_t read_count(const std::string& who, const std::string& key, const Tensor& t) {
    const double v = read_scalar(who, key, t);
    if (!(v >= 0 && v <= kMaxCount) || v != std::floor(v))
        throw ValueError(who + ": '" + key + "' must be a non-negative integer (at most 2^53), got " + number(v));
    return static_cast<std::int64_t>(v);
}

/// read_scalar's value as a learning rate or another rate; ValueError naming the key and the
/// value unless it is finite and >= 0.
inline double read_rate(const std::string& who, const std::string& key, const Tensor& t) {
    const double v = read_scalar(who, key, t);
    if (!(std::isfinite(v) && v >= 0))
        throw ValueError(who + ": '" + key + "' must be a finite number >= 0, got " + number(v));
    return v;
}

/// "a, b, c" from a dict's keys.
inline std::string join_keys(const StateDict& dict) {
    std::string out;
    for (const auto& [key, t] : dict) out += (out.empty() ? "" : ", ") + key;
    return out;
}

}  // namespace graft::optim::detail
