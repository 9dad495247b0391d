// apply_rotary: rotary position embedding ("rotate half"), forward and its backward (the same
// rotation by the opposite angle), both on a cos/sin table built once per call.
#include <cmath>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "kernels/cpu/parallel.hpp"
#include "graft/autograd.hpp"
#include "graft/functional/rotary.hpp"
#include "graft/profiler.hpp"

namespace graft::nn::functional {

namespace {

/// cos and sin of p·θ_i for t < T, i < D/2 (row-major [T, D/2]), in T.
template <class T>
void rotary_table(std::int64_t steps, std::int64_t dim, std::int64_t offset, double base, std::vector<T>& cos_table,
                  std::vector<T>& sin_table) {
    const std::int64_t half = dim / 2;
    cos_table.resize(static_cast<std::size_t>(steps * half));
    sin_table.resize(cos_table.size());
    for (std::int64_t i = 0; i < half; ++i) {
        const double theta = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dim));
        for (std::int64_t t = 0; t < steps; ++t) {
            const double angle = static_cast<double>(offset + t) * theta;
            cos_table[static_cast<std::size_t>(t * half + i)] = static_cast<T>(std::cos(angle));
            sin_table[static_cast<std::size_t>(t * half + i)] = static_cast<T>(std::sin(angle));
        }
    }
}

/// x and y contiguous [rows, steps, dim]; y = rotation of x by +angle (or −angle when inverse).
template <class T>
void rotary_kernel(const T* x, T* y, std::int64_t rows, std::int64_t steps, std::int64_t dim, const T* cos_table,
                   const T* sin_table, bool inverse) {
    const std::int64_t half = dim / 2, lines = rows * steps;
    const T sign = inverse ? T(-1) : T(1);
    kernels::parallel_for(0, lines, lines * dim, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t line = lo; line < hi; ++line) {
            const T* c = cos_table + (line % steps) * half;
            const T* s = sin_table + (line % steps) * half;
            const T* xl = x + line * dim;
            T* yl = y + line * dim;
            for (std::int64_t i = 0; i < half; ++i) {
                const T a = xl[i], b = xl[i + half], sn = sign * s[i];
                yl[i] = a * c[i] - b * sn;
                yl[i + half] = b * c[i] + a * sn;
            }
        }
    });
}

Tensor rotate(const Tensor& x, std::int64_t offset, double base, bool inverse, const char* op) {
    GRAFT_PROFILE_SCOPE(op);
    const std::int64_t dim = x.size(-1), steps = x.size(-2);
    const std::int64_t rows = steps * dim == 0 ? 0 : x.numel() / (steps * dim);
    Tensor y = empty(x.shape(), x.dtype());
    detail::dispatch_floating(x.dtype(), op, [&]<class T>() {
        const Tensor xc = x.detach().contiguous();
        std::vector<T> cos_table, sin_table;
        rotary_table<T>(steps, dim, offset, base, cos_table, sin_table);
        rotary_kernel<T>(xc.data_ptr<T>(), y.data_ptr<T>(), rows, steps, dim, cos_table.data(), sin_table.data(),
                         inverse);
    });
    return y;
}

// y = R(p·θ)·x per channel pair  ⇒  dx = R(p·θ)ᵀ·dy = R(−p·θ)·dy; nothing saved but the angles' inputs.
struct RotaryBackward final : Node {
    RotaryBackward(std::int64_t off, double b) : offset(off), base(b) {}
    const char* name() const override { return "RotaryBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {rotate(g, offset, base, true, name())}; }
    std::int64_t offset;
    double base;
};

}  // namespace

Tensor apply_rotary(const Tensor& x, std::int64_t position_offset, double base) {
    constexpr const char* op = "apply_rotary";
    if (x.dim() < 2)
        throw ShapeError(std::string(op) + ": input must be [..., T, D], got " + shape_str(x.shape()));
    if (x.size(-1) % 2 != 0)
        throw ValueError(std::string(op) + ": the last dim D must be even to rotate halves, got " +
                         shape_str(x.shape()));
    if (position_offset < 0)
        throw ValueError(std::string(op) + ": position_offset must be non-negative, got " +
                         std::to_string(position_offset));
    if (!(base > 0.0)) throw ValueError(std::string(op) + ": base must be positive, got " + std::to_string(base));
    Tensor out = rotate(x, position_offset, base, false, op);
    autograd::make_node<RotaryBackward>({&x}, out, position_offset, base);
    return out;
}

}  // namespace graft::nn::functional
