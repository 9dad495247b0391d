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

/// The vector kernels' name for an activation.
constexpr kernels::AffineActivation kernel_activation(Act a) {
    switch (a) {
        case Act::None: return kernels::AffineActivation::None;
        case Act::ReLU: return kernels::AffineActivation::ReLU;
        case Act::ReLU6: return kernels::AffineActivation::ReLU6;
        case Act::Hardswish: return kernels::AffineActivation::Hardswish;
        case Act::SiLU: return kernels::AffineActivation::SiLU;
    }
    return kernels::AffineActivation::None;
}

/// Rows [lo, hi) of S values (row r is channel r mod C): y = act(x·a + b), a = scale[c], b =
/// shift[c]. y may equal x. float32 runs the active ISA's kernel (kernels/vector: z = fma(x, a,
/// b)); double the unary ops' formulas (ops/activation_math.hpp) one element at a time.
template <Act A, class T>
void affine_activate_rows(std::int64_t C, std::int64_t S, std::int64_t lo, std::int64_t hi, const T* x, T* y,
                          const double* scale, const double* shift) {
    using int64 = std::int64_t;
    if constexpr (std::is_same_v<T, float>) {
        kernels::affine_activation_rows(kernel_activation(A), C, S, lo, hi, x, y, scale, shift);
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
    if constexpr (std::is_same_v<T, float>) {
        kernels::affine_activation_grad_rows(kernel_activation(A), C, S, lo, hi, x, scale, shift, dy, dz);
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
