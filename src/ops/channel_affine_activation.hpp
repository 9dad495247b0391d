// Internal to ops: y = act(x·scale[c] + shift[c]) over rows of S values whose channel is the row
// index mod C, and its gradient, for the activations nn::functional::BatchNormActivation names.
// Shared by batch_norm (the normalisation and its fused activation) and by a convolution with a
// frozen eval-mode BatchNorm folded into its output (ops/conv_output_stage.hpp), so that both
// compute the same bits as the unfused ops.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cpu/workspace.hpp"
#include "kernels/vector/vector.hpp"
#include "graft/functional/batch_norm.hpp"
#include "ops/activation_math.hpp"

namespace graft::detail {

using Act = nn::functional::BatchNormActivation;

/// The per-channel affine of a BatchNorm with statistics mean and var: invstd = (var + eps)^-½,
/// scale = weight·invstd and shift = bias − mean·scale, in double. scale comes in holding the
/// weight and shift the bias (ones and zeros without affine); both leave holding the affine.
/// batch_norm and the convolution that folds an eval-mode BatchNorm both take it from here, so
/// they compute the same bits.
inline void batch_norm_affine(const std::vector<double>& mean, const std::vector<double>& var, double eps,
                              std::vector<double>& scale, std::vector<double>& shift, std::vector<double>* invstd) {
    for (std::size_t c = 0; c < scale.size(); ++c) {
        const double inv = 1.0 / std::sqrt(var[c] + eps);
        if (invstd != nullptr) (*invstd)[c] = inv;
        scale[c] *= inv;
        shift[c] -= mean[c] * scale[c];
    }
}

/// Calls fn(std::integral_constant<Act, a>{}): the activation as a compile-time constant.
template <class F>
void with_activation(Act a, F&& fn) {
    switch (a) {
        case Act::None: return fn(std::integral_constant<Act, Act::None>{});
        case Act::ReLU: return fn(std::integral_constant<Act, Act::ReLU>{});
        case Act::ReLU6: return fn(std::integral_constant<Act, Act::ReLU6>{});
        case Act::Hardswish: return fn(std::integral_constant<Act, Act::Hardswish>{});
        case Act::SiLU: return fn(std::integral_constant<Act, Act::SiLU>{});
    }
}

/// float32 SiLU runs σ through the vector kernel (blocks of rows, into per-thread scratch).
template <Act A, class T>
constexpr bool kVectorSigmoid = A == Act::SiLU && std::is_same_v<T, float>;

/// float32 SiLU takes its σ from the vector kernel on blocks of whole rows of about kSigmoidBlock
/// values: per row, short rows (4×4 maps) would pay a call and a scratch lookup for every 16 values.
constexpr std::int64_t kSigmoidBlock = 2048;

/// Rows [lo, hi) of S values (row r is channel r mod C): y = act(x·a + b), a = scale[c], b =
/// shift[c] (the unary ops' formulas, ops/activation_math.hpp). y may equal x.
template <Act A, class T>
void affine_activate_rows(std::int64_t C, std::int64_t S, std::int64_t lo, std::int64_t hi, const T* x, T* y,
                          const double* scale, const double* shift) {
    using int64 = std::int64_t;
    if constexpr (kVectorSigmoid<A, T>) {
        thread_local kernels::Workspace scratch;
        const int64 block = std::max<int64>(1, kSigmoidBlock / S);
        for (int64 r0 = lo; r0 < hi; r0 += block) {
            const int64 r1 = std::min(hi, r0 + block), n = (r1 - r0) * S;
            float* s = scratch.reserve(n);
            for (int64 r = r0; r < r1; ++r) {
                const T a = static_cast<T>(scale[r % C]), b = static_cast<T>(shift[r % C]);
                for (int64 i = r * S; i < (r + 1) * S; ++i) y[i] = x[i] * a + b;
            }
            T* yb = y + r0 * S;
            kernels::unary(kernels::UnaryOp::Sigmoid, n, yb, s);
            for (int64 i = 0; i < n; ++i) yb[i] *= s[i];
        }
    } else {
        for (int64 r = lo; r < hi; ++r) {
            const T a = static_cast<T>(scale[r % C]), b = static_cast<T>(shift[r % C]);
            for (int64 i = r * S; i < (r + 1) * S; ++i) {
                const T z = x[i] * a + b;
                if constexpr (A == Act::None) y[i] = z;
                if constexpr (A == Act::ReLU) y[i] = z > 0 || z != z ? z : T(0);
                if constexpr (A == Act::ReLU6) y[i] = hardtanh_value(z, T(0), T(6));
                if constexpr (A == Act::Hardswish) y[i] = hardswish_value(z);
                if constexpr (A == Act::SiLU) y[i] = silu_value(z);
            }
        }
    }
}

/// Rows [lo, hi) as affine_activate_rows: dz = dy·act'(z), z = x·a + b recomputed as the forward
/// computed it; dz may equal dy.
template <Act A, class T>
void affine_activation_grad_rows(std::int64_t C, std::int64_t S, std::int64_t lo, std::int64_t hi, const T* x,
                                 const double* scale, const double* shift, const T* dy, T* dz) {
    using int64 = std::int64_t;
    if constexpr (kVectorSigmoid<A, T>) {
        thread_local kernels::Workspace scratch;
        const int64 block = std::max<int64>(1, kSigmoidBlock / S);
        for (int64 r0 = lo; r0 < hi; r0 += block) {
            const int64 r1 = std::min(hi, r0 + block), n = (r1 - r0) * S;
            float* z = scratch.reserve(2 * n);
            float* s = z + n;
            for (int64 r = r0; r < r1; ++r) {
                const T a = static_cast<T>(scale[r % C]), b = static_cast<T>(shift[r % C]);
                for (int64 i = r * S; i < (r + 1) * S; ++i) z[i - r0 * S] = x[i] * a + b;
            }
            kernels::unary(kernels::UnaryOp::Sigmoid, n, z, s);
            const T* dyb = dy + r0 * S;
            T* dzb = dz + r0 * S;
            for (int64 i = 0; i < n; ++i) dzb[i] = dyb[i] * (s[i] * (1 + z[i] * (1 - s[i])));
        }
    } else {
        for (int64 r = lo; r < hi; ++r) {
            const T a = static_cast<T>(scale[r % C]), b = static_cast<T>(shift[r % C]);
            for (int64 i = r * S; i < (r + 1) * S; ++i) {
                const T z = x[i] * a + b;
                T d = T(1);
                if constexpr (A == Act::ReLU) d = static_cast<T>(z > 0);
                if constexpr (A == Act::ReLU6) d = hardtanh_derivative(z, T(0), T(6));
                if constexpr (A == Act::Hardswish) d = hardswish_derivative(z);
                if constexpr (A == Act::SiLU) d = silu_derivative(z);
                dz[i] = dy[i] * d;
            }
        }
    }
}

}  // namespace graft::detail
