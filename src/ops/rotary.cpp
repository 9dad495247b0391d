// apply_rotary: rotary position embedding ("rotate half"), forward and its backward (the same
// rotation by the opposite angle), both on a cos/sin table built once per call.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/dispatch.hpp"
#include "kernels/cpu/parallel.hpp"
#include "graft/autograd.hpp"
#include "graft/functional/rotary.hpp"
#include "graft/profiler.hpp"

namespace graft::nn::functional {

namespace {

/// cos and sin of p·θ_i for each position p of `positions`, i < D/2 (row-major [P, D/2]), in T.
template <class T>
void rotary_table(const std::vector<std::int64_t>& positions, std::int64_t dim, double base, std::vector<T>& cos_table,
                  std::vector<T>& sin_table) {
    const std::int64_t half = dim / 2, count = static_cast<std::int64_t>(positions.size());
    cos_table.resize(static_cast<std::size_t>(count * half));
    sin_table.resize(cos_table.size());
    for (std::int64_t i = 0; i < half; ++i) {
        const double theta = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dim));
        for (std::int64_t t = 0; t < count; ++t) {
            const double angle = static_cast<double>(positions[static_cast<std::size_t>(t)]) * theta;
            cos_table[static_cast<std::size_t>(t * half + i)] = static_cast<T>(std::cos(angle));
            sin_table[static_cast<std::size_t>(t * half + i)] = static_cast<T>(std::sin(angle));
        }
    }
}

/// x and y contiguous [rows, steps, dim]; y = rotation of x by +angle (or −angle when inverse).
/// The table holds `groups` × steps positions: rows are split into `groups` equal runs (the
/// batch rows of per-row position ids; 1 when every row shares the positions).
template <class T>
void rotary_kernel(const T* x, T* y, std::int64_t rows, std::int64_t steps, std::int64_t dim, const T* cos_table,
                   const T* sin_table, std::int64_t groups, bool inverse) {
    const std::int64_t half = dim / 2, lines = rows * steps, rows_per_group = groups > 0 ? rows / groups : rows;
    const T sign = inverse ? T(-1) : T(1);
    kernels::parallel_for(0, lines, lines * dim, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t line = lo; line < hi; ++line) {
            const std::int64_t entry = (line / steps / rows_per_group) * steps + line % steps;
            const T* c = cos_table + entry * half;
            const T* s = sin_table + entry * half;
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

/// Rotates x [..., T, D] by the angles of `positions`: T entries shared by every row, or
/// groups·T entries, group g's for the g-th of `groups` equal runs of x's leading rows.
Tensor rotate(const Tensor& x, const std::vector<std::int64_t>& positions, std::int64_t groups, double base,
              bool inverse, const char* op) {
    GRAFT_PROFILE_SCOPE(op);
    const std::int64_t dim = x.size(-1), steps = x.size(-2);
    const std::int64_t rows = steps * dim == 0 ? 0 : x.numel() / (steps * dim);
    Tensor y = empty(x.shape(), x.dtype());
    detail::dispatch_floating(x.dtype(), op, [&]<class T>() {
        const Tensor xc = x.detach().contiguous();
        std::vector<T> cos_table, sin_table;
        rotary_table<T>(positions, dim, base, cos_table, sin_table);
        rotary_kernel<T>(xc.data_ptr<T>(), y.data_ptr<T>(), rows, steps, dim, cos_table.data(), sin_table.data(),
                         groups, inverse);
    });
    return y;
}

// y = R(p·θ)·x per channel pair  ⇒  dx = R(p·θ)ᵀ·dy = R(−p·θ)·dy; nothing saved but the positions.
struct RotaryBackward final : Node {
    RotaryBackward(std::vector<std::int64_t> p, std::int64_t g, double b) : positions(std::move(p)), groups(g), base(b) {}
    const char* name() const override { return "RotaryBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {rotate(g, positions, groups, base, true, name())}; }
    std::vector<std::int64_t> positions;
    std::int64_t groups;
    double base;
};

void check_rotary_args(const Tensor& x, double base, const char* op) {
    if (x.dim() < 2)
        throw ShapeError(std::string(op) + ": input must be [..., T, D], got " + shape_str(x.shape()));
    if (x.size(-1) % 2 != 0)
        throw ValueError(std::string(op) + ": the last dim D must be even to rotate halves, got " +
                         shape_str(x.shape()));
    if (!(base > 0.0)) throw ValueError(std::string(op) + ": base must be positive, got " + std::to_string(base));
}

}  // namespace

Tensor apply_rotary(const Tensor& x, std::int64_t position_offset, double base) {
    constexpr const char* op = "apply_rotary";
    check_rotary_args(x, base, op);
    if (position_offset < 0)
        throw ValueError(std::string(op) + ": position_offset must be non-negative, got " +
                         std::to_string(position_offset));
    std::vector<std::int64_t> positions(static_cast<std::size_t>(x.size(-2)));
    for (std::size_t t = 0; t < positions.size(); ++t) positions[t] = position_offset + static_cast<std::int64_t>(t);
    Tensor out = rotate(x, positions, 1, base, false, op);
    autograd::make_node<RotaryBackward>({&x}, out, std::move(positions), 1, base);
    return out;
}

Tensor apply_rotary(const Tensor& x, const Tensor& position_ids, double base) {
    constexpr const char* op = "apply_rotary";
    check_rotary_args(x, base, op);
    const bool integer = position_ids.dtype() == DType::Int64 || position_ids.dtype() == DType::Int32;
    if (!integer || position_ids.dim() != 2 || x.dim() < 3 || position_ids.size(0) != x.size(0) ||
        position_ids.size(1) != x.size(-2))
        throw ShapeError(std::string(op) + ": position_ids must be integer [B, T] = [" +
                         (x.dim() >= 3 ? std::to_string(x.size(0)) : std::string("B")) + ", " +
                         std::to_string(x.size(-2)) + "] for x " + shape_str(x.shape()) + ", got " +
                         dtype_name(position_ids.dtype()) + " " + shape_str(position_ids.shape()));
    std::vector<std::int64_t> positions = position_ids.contiguous().to(DType::Int64).to_vector<std::int64_t>();
    for (std::int64_t p : positions)
        if (p < 0) throw ValueError(std::string(op) + ": position ids must be non-negative, got " + std::to_string(p));
    const std::int64_t groups = position_ids.size(0);
    Tensor out = rotate(x, positions, groups, base, false, op);
    autograd::make_node<RotaryBackward>({&x}, out, std::move(positions), groups, base);
    return out;
}

}  // namespace graft::nn::functional
