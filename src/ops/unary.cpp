// Unary elementwise ops — neg, exp, log, sqrt, rsqrt, abs, pow, clamp, relu, leaky_relu,
// hardtanh, relu6, sigmoid, hardsigmoid, tanh, gelu, silu, hardswish — each forward followed by its backward. exp, log, tanh, sigmoid,
// relu and gelu run the vector kernels (kernels/vector) on contiguous float32 tensors, forward
// and fused backward (dx = dout·f' in one pass), and silu takes its σ from the sigmoid kernel;
// other dtypes and strides take the generic loop.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <string>

#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/activation_math.hpp"
#include "ops/elementwise.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/vector/vector.hpp"

namespace graft {

namespace {

/// Whether the vector kernels can run on t: float32 and contiguous.
bool vector_kernel_applies(const Tensor& t) { return t.dtype() == DType::Float32 && t.is_contiguous(); }

/// The node name of op's backward, as PyTorch spells them: "leaky_relu" → "LeakyReluBackward".
std::string backward_name(const char* op) {
    std::string name;
    bool upper = true;
    for (const char* c = op; *c != '\0'; ++c) {
        if (*c == '_') {
            upper = true;
            continue;
        }
        name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(*c))) : *c;
        upper = false;
    }
    return name + "Backward";
}

/// A unary node whose backward is dx = dout · f'(saved), with f' evaluated elementwise by
/// `Derivative` on the saved input (or output, when the op saves its result), or by the fused
/// vector kernel of `kernel` when saved and dout are float32 of one shape.
template <class Derivative>
struct PointwiseBackward final : Node {
    PointwiseBackward(const char* op, Derivative d, std::optional<kernels::UnaryOp> k)
        : node_name(backward_name(op)), derivative(std::move(d)), kernel(k) {}
    const char* name() const override { return node_name.c_str(); }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor s = saved.unpack(name());
        if (kernel && vector_kernel_applies(s) && g.dtype() == DType::Float32 && g.shape() == s.shape()) {
            const Tensor gc = g.contiguous();
            Tensor dx = empty(s.shape(), DType::Float32);
            kernels::unary_grad(*kernel, s.numel(), s.data_ptr<float>(), gc.data_ptr<float>(), dx.data_ptr<float>());
            return {dx};
        }
        Tensor dfdx = detail::dispatch_floating(s.dtype(), name(), [&]<class T>() {
            return detail::unary_map<T, T>(s, [&](T v) { return static_cast<T>(derivative(v)); });
        });
        return {mul(g, dfdx)};
    }
    void release_saved() override { saved.release(); }
    std::string node_name;
    Derivative derivative;
    std::optional<kernels::UnaryOp> kernel;
    SavedTensor saved;
};

/// Applies f elementwise (floating dtypes) and records dx = dout · derivative(saved), where
/// saved is the input, or the output when save_output is true. With `kernel`, contiguous
/// float32 runs that vector kernel instead (its gradient reads what save_output says).
template <class F, class D>
Tensor pointwise(const Tensor& x, const char* op, F&& f, D derivative, bool save_output = false,
                 std::optional<kernels::UnaryOp> kernel = std::nullopt) {
    GRAFT_PROFILE_SCOPE(op);
    Tensor out;
    if (kernel && vector_kernel_applies(x)) {
        out = empty(x.shape(), DType::Float32);
        kernels::unary(*kernel, x.numel(), x.data_ptr<float>(), out.data_ptr<float>());
    } else {
        out = detail::dispatch_floating(x.dtype(), op, [&]<class T>() {
            return detail::unary_map<T, T>(x, [&](T v) { return static_cast<T>(f(v)); });
        });
    }
    if (autograd::any_requires_grad({&x})) {
        auto node = std::make_shared<PointwiseBackward<D>>(op, std::move(derivative), kernel);
        node->saved = SavedTensor(save_output ? out : x);
        autograd::record(node, {&x}, out);
    }
    return out;
}

/// float32 SiLU over n values, block by block in L1: σ of each block from the sigmoid vector
/// kernel, then out = x·σ, or with dy the gradient out = dy·σ·(1 + x·(1 − σ)), in loops the
/// compiler vectorises. The blocks are spread over the threads.
void silu_f32(std::int64_t n, const float* x, const float* dy, float* out) {
    constexpr std::int64_t kBlock = 2048;
    kernels::parallel_for(0, (n + kBlock - 1) / kBlock, n, [&](std::int64_t lo, std::int64_t hi) {
        alignas(64) float s[kBlock];
        for (std::int64_t b = lo; b < hi; ++b) {
            const std::int64_t i0 = b * kBlock, m = std::min(kBlock, n - i0);
            const float* xb = x + i0;
            float* ob = out + i0;
            kernels::unary(kernels::UnaryOp::Sigmoid, m, xb, s);
            if (dy == nullptr)
                for (std::int64_t i = 0; i < m; ++i) ob[i] = xb[i] * s[i];
            else
                for (std::int64_t i = 0; i < m; ++i) ob[i] = dy[i0 + i] * (s[i] * (1.f + xb[i] * (1.f - s[i])));
        }
    });
}

// out = x·σ(x)  ⇒  dx = dout · σ(x)·(1 + x·(1 − σ(x)))   (x saved)
struct SiluBackward final : Node {
    const char* name() const override { return "SiluBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor x = saved.unpack(name());
        if (vector_kernel_applies(x) && g.dtype() == DType::Float32 && g.shape() == x.shape()) {
            const Tensor gc = g.contiguous();
            Tensor dx = empty(x.shape(), DType::Float32);
            silu_f32(x.numel(), x.data_ptr<float>(), gc.data_ptr<float>(), dx.data_ptr<float>());
            return {dx};
        }
        const Tensor dfdx = detail::dispatch_floating(x.dtype(), name(), [&]<class T>() {
            return detail::unary_map<T, T>(x, [](T v) { return detail::silu_derivative(v); });
        });
        return {mul(g, dfdx)};
    }
    void release_saved() override { saved.release(); }
    SavedTensor saved;
};

// out = −x  ⇒  dx = −dout
struct NegBackward final : Node {
    const char* name() const override { return "NegBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {neg(g)}; }
};

constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/√(2π)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // √(2/π)

}  // namespace

Tensor neg(const Tensor& x) {
    Tensor out = detail::dispatch_numeric(x.dtype(), "neg", [&]<class T>() {
        return detail::unary_map<T, T>(x, [](T v) { return static_cast<T>(-v); });
    });
    autograd::make_node<NegBackward>({&x}, out);
    return out;
}

// out = eˣ  ⇒  dx = dout · out
Tensor exp(const Tensor& x) {
    return pointwise(x, "exp", [](auto v) { return std::exp(v); }, [](auto y) { return y; }, true, kernels::UnaryOp::Exp);
}

// out = ln x  ⇒  dx = dout / x
Tensor log(const Tensor& x) {
    return pointwise(x, "log", [](auto v) { return std::log(v); }, [](auto v) { return 1 / v; }, false,
                     kernels::UnaryOp::Log);
}

// out = √x  ⇒  dx = dout / (2·out)
Tensor sqrt(const Tensor& x) {
    return pointwise(x, "sqrt", [](auto v) { return std::sqrt(v); }, [](auto y) { return 1 / (2 * y); }, true);
}

// out = 1/√x  ⇒  dx = −dout · out³ / 2
Tensor rsqrt(const Tensor& x) {
    return pointwise(x, "rsqrt", [](auto v) { return 1 / std::sqrt(v); },
                     [](auto y) { return -y * y * y / 2; }, true);
}

// out = |x|  ⇒  dx = dout · sign(x)   (0 at x = 0)
Tensor abs(const Tensor& x) {
    if (!is_floating(x.dtype()))
        return detail::dispatch_numeric(x.dtype(), "abs", [&]<class T>() {
            return detail::unary_map<T, T>(x, [](T v) { return static_cast<T>(v < 0 ? -v : v); });
        });
    return pointwise(x, "abs", [](auto v) { return std::abs(v); },
                     [](auto v) { return static_cast<decltype(v)>((v > 0) - (v < 0)); });
}

// out = xᵖ  ⇒  dx = dout · p · xᵖ⁻¹
Tensor pow(const Tensor& x, double p) {
    return pointwise(x, "pow", [p](auto v) { return std::pow(v, static_cast<decltype(v)>(p)); },
                     [p](auto v) {
                         using T = decltype(v);
                         return p == 0 ? T(0) : static_cast<T>(p) * std::pow(v, static_cast<T>(p - 1));
                     });
}

// out = min(max(x, lo), hi)  ⇒  dx = dout where lo ≤ x ≤ hi, else 0
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
    const double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
    if (l > h)
        throw ValueError("clamp: min " + std::to_string(l) + " is greater than max " + std::to_string(h));
    return pointwise(
        x, "clamp",
        [l, h](auto v) {
            using T = decltype(v);
            return v != v ? v : std::min(std::max(v, static_cast<T>(l)), static_cast<T>(h));
        },
        [l, h](auto v) { return static_cast<decltype(v)>(v >= l && v <= h); });
}

// out = max(x, 0) (NaN kept, as in torch)  ⇒  dx = dout · [out > 0]
Tensor relu(const Tensor& x) {
    return pointwise(x, "relu", [](auto v) { return v > 0 || v != v ? v : decltype(v)(0); },
                     [](auto y) { return static_cast<decltype(y)>(y > 0); }, true, kernels::UnaryOp::Relu);
}

// out = x ≥ 0 ? x : s·x  ⇒  dx = dout · (x > 0 ? 1 : s)
Tensor leaky_relu(const Tensor& x, double s) {
    return pointwise(x, "leaky_relu", [s](auto v) { return v > 0 ? v : static_cast<decltype(v)>(s) * v; },
                     [s](auto v) { return v > 0 ? decltype(v)(1) : static_cast<decltype(v)>(s); });
}

// out = min(max(x, lo), hi)  ⇒  dx = dout where lo < x < hi, else 0 (PyTorch's hardtanh_backward:
// no gradient at the bounds themselves, unlike clamp's)
Tensor hardtanh(const Tensor& x, double lo, double hi) {
    if (!(lo <= hi))
        throw ValueError("hardtanh: min_val " + std::to_string(lo) + " is greater than max_val " + std::to_string(hi));
    return pointwise(
        x, "hardtanh",
        [lo, hi](auto v) {
            using T = decltype(v);
            return detail::hardtanh_value(v, static_cast<T>(lo), static_cast<T>(hi));
        },
        [lo, hi](auto v) { return detail::hardtanh_derivative(v, lo, hi); });
}

// out = min(max(x, 0), 6)  ⇒  dx = dout where 0 < x < 6, else 0
Tensor relu6(const Tensor& x) { return hardtanh(x, 0.0, 6.0); }

// out = min(max(x + 3, 0), 6) / 6  ⇒  dx = dout / 6 where −3 < x < 3, else 0
Tensor hardsigmoid(const Tensor& x) {
    return pointwise(
        x, "hardsigmoid",
        [](auto v) {
            using T = decltype(v);
            return std::min(std::max(v + T(3), T(0)), T(6)) / T(6);
        },
        [](auto v) {
            using T = decltype(v);
            return v > T(-3) && v < T(3) ? T(1) / T(6) : T(0);
        });
}

// out = x · min(max(x + 3, 0), 6) / 6  ⇒  dx = dout · (0 for x < −3, x/3 + ½ for x ≤ 3, 1 above)
// (PyTorch's hardswish_backward, the same piecewise form)
Tensor hardswish(const Tensor& x) {
    return pointwise(
        x, "hardswish", [](auto v) { return detail::hardswish_value(v); },
        [](auto v) { return detail::hardswish_derivative(v); });
}

// out = 1/(1+e⁻ˣ)  ⇒  dx = dout · out·(1−out)
Tensor sigmoid(const Tensor& x) {
    return pointwise(
        x, "sigmoid", [](auto v) { return detail::sigmoid_value(v); },
        [](auto y) { return y * (1 - y); }, true, kernels::UnaryOp::Sigmoid);
}

// out = tanh x  ⇒  dx = dout · (1 − out²)
Tensor tanh(const Tensor& x) {
    return pointwise(x, "tanh", [](auto v) { return std::tanh(v); }, [](auto y) { return 1 - y * y; }, true,
                     kernels::UnaryOp::Tanh);
}

// erf form: out = x·Φ(x)  ⇒  dx = dout · (Φ(x) + x·φ(x))
// tanh form: out = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³)
//            ⇒  dx = dout · (½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²))
Tensor gelu(const Tensor& x, GeluApprox approximate) {
    if (approximate == GeluApprox::Tanh) {
        return pointwise(
            x, "gelu",
            [](auto v) {
                using T = decltype(v);
                const T u = static_cast<T>(kSqrt2OverPi) * (v + T(0.044715) * v * v * v);
                return T(0.5) * v * (T(1) + std::tanh(u));
            },
            [](auto v) {
                using T = decltype(v);
                const T u = static_cast<T>(kSqrt2OverPi) * (v + T(0.044715) * v * v * v);
                const T t = std::tanh(u);
                return T(0.5) * (T(1) + t) +
                       T(0.5) * v * (T(1) - t * t) * static_cast<T>(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * v * v);
            },
            false, kernels::UnaryOp::GeluTanh);
    }
    return pointwise(
        x, "gelu",
        [](auto v) {
            using T = decltype(v);
            return T(0.5) * v * (T(1) + std::erf(v / static_cast<T>(kSqrt2)));
        },
        [](auto v) {
            using T = decltype(v);
            const T cdf = T(0.5) * (T(1) + std::erf(v / static_cast<T>(kSqrt2)));
            const T pdf = static_cast<T>(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v);
            return cdf + v * pdf;
        },
        false, kernels::UnaryOp::Gelu);
}

// out = x·σ(x)  ⇒  dx = dout · σ(x)(1 + x(1 − σ(x)))
Tensor silu(const Tensor& x) {
    GRAFT_PROFILE_SCOPE("silu");
    Tensor out;
    if (vector_kernel_applies(x)) {
        out = empty(x.shape(), DType::Float32);
        silu_f32(x.numel(), x.data_ptr<float>(), nullptr, out.data_ptr<float>());
    } else {
        out = detail::dispatch_floating(x.dtype(), "silu", [&]<class T>() {
            return detail::unary_map<T, T>(x, [](T v) { return detail::silu_value(v); });
        });
    }
    if (autograd::any_requires_grad({&x})) {
        auto node = std::make_shared<SiluBackward>();
        node->saved = SavedTensor(x);
        autograd::record(node, {&x}, out);
    }
    return out;
}

}  // namespace graft
