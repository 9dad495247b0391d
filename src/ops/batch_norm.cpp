// batch_norm over [N, C] and [N, C, *] inputs, forward followed by its fused backward. The input
// is seen as [N, C, S] (S = Π*); statistics are per channel over M = N·S elements.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/dispatch.hpp"
#include "core/lane_sum.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/cpu/workspace.hpp"
#include "kernels/vector/vector.hpp"
#include "graft/autograd.hpp"
#include "graft/functional/batch_norm.hpp"
#include "graft/profiler.hpp"
#include "ops/channel_affine_activation.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"

namespace graft::nn::functional {

namespace {

using int64 = std::int64_t;

struct BnLayout {
    int64 N, C, S;
    int64 M() const { return N * S; }
    int64 numel() const { return N * C * S; }
};

/// Runs fn(c) for every channel, in parallel when the tensor is large enough.
template <class F>
void for_each_channel(const BnLayout& l, F&& fn) {
    kernels::parallel_for(0, l.C, l.numel(), [&](int64 lo, int64 hi) {
        for (int64 c = lo; c < hi; ++c) fn(c);
    });
}

/// Per channel: the batch mean and the biased variance (two passes: mean, then squared deviations).
/// float32 [N, C] (S = 1) goes down the columns with the vector kernels (double, threaded), where
/// the loops below would stride by C: 3× faster on [256, 1024]. With S > 1 the loops read rows of
/// S and win: the column kernels' per-column sums (16 B per column of N values) cost more than
/// they save when N is small (25× slower on [2, 64, 56, 56]), for 25 % gained at [64, 32, 32, 32].
template <class T>
void batch_stats(const BnLayout& l, const Tensor& xt, std::vector<double>& mean, std::vector<double>& var) {
    if constexpr (std::is_same_v<T, float>) {
        if (l.S == 1) {
            const detail::InPlaceLayout layout{detail::InPlaceLayout::Kind::Columns, 1, l.N, l.C, 1};
            detail::float32_mean_and_m2(xt, layout, mean, var);
            for (double& v : var) v /= static_cast<double>(l.M());
            return;
        }
    }
    const T* x = xt.data_ptr<T>();
    const int64 row_stride = l.C * l.S;
    for_each_channel(l, [&](int64 c) {
        const T* first = x + c * l.S;
        const double s =
            detail::lane_sum_rows<T>(l.N, l.S, [&](int64 n, int64 i) { return first[n * row_stride + i]; });
        const double m = s / static_cast<double>(l.M());
        const T mt = static_cast<T>(m);
        const double q = detail::lane_sum_rows<T>(l.N, l.S, [&](int64 n, int64 i) {
            const T v = first[n * row_stride + i] - mt;
            return v * v;
        });
        mean[c] = m;
        var[c] = q / static_cast<double>(l.M());
    });
}

using Act = BatchNormActivation;
using detail::with_activation;
/// Rows shorter than this (maps of 16×16 and below) take dy = dout·act'(y) in one threaded pass
/// over all rows before the per-channel sums; longer ones channel by channel, in cache for them.
constexpr int64 kShortActivationRow = 256;

// y = act((x − mean)·invstd·w + b), as y = act(x·scale + shift) per channel
template <class T>
void normalize(const BnLayout& l, const T* x, T* y, const std::vector<double>& scale, const std::vector<double>& shift,
               Act act) {
    const int64 rows = l.N * l.C;
    with_activation(act, [&]<Act A>(std::integral_constant<Act, A>) {
        kernels::parallel_for(0, rows, l.numel(),
                              [&](int64 lo, int64 hi) { detail::affine_activate_rows<A, T>(l.C, l.S, lo, hi, x, y, scale.data(), shift.data()); });
    });
}

// training: y = x̂·w + b, x̂ = (x − μ)·σ⁻¹ with μ, σ² the batch's (biased) statistics
//   ⇒ db = Σ dy, dw = Σ dy·x̂, dx = w·σ⁻¹·(dy − db/M − x̂·dw/M)
// eval: y = (x − μᵣ)·σᵣ⁻¹·w + b with the running statistics (constants)
//   ⇒ db = Σ dy, dw = Σ dy·x̂, dx = w·σᵣ⁻¹·dy
// with an activation: out = act(y)  ⇒  dy = dout·act'(y), y recomputed from the saved x, then as above
struct BatchNormBackward final : Node {
    const char* name() const override { return "BatchNormBackward"; }
    /// The fused activation (nn::functional::BatchNormActivation), for the planner's pricing.
    std::vector<std::int64_t> attributes() const override { return {static_cast<std::int64_t>(activation)}; }
    std::vector<Tensor> apply(const Tensor& grad) override {
        std::vector<Tensor> grads(3);
        const bool need_dx = needs_input_grad(0), need_dw = needs_input_grad(1), need_db = needs_input_grad(2);
        const bool need_x = need_dw || (need_dx && training) || activation != Act::None;
        const Tensor dout = grad.contiguous();
        const Tensor xc = need_x ? x.unpack(name()).contiguous() : Tensor();
        // The gradient at the activation's input: written over dx's buffer (each element of dx
        // reads only its own), or a buffer of its own when dx is not needed.
        if (need_dx) grads[0] = empty(input_shapes[0], dout.dtype());
        const Tensor dy = activation == Act::None ? dout : need_dx ? grads[0] : empty(input_shapes[0], dout.dtype());
        std::vector<double> sum_dy(static_cast<std::size_t>(l.C)), sum_dy_xhat(static_cast<std::size_t>(l.C));
        detail::dispatch_floating(dy.dtype(), name(), [&]<class T>() {
            const T* d = dy.data_ptr<T>();
            const T* xp = need_x ? xc.data_ptr<T>() : nullptr;
            T* dx = need_dx ? grads[0].data_ptr<T>() : nullptr;
            // dy = dout·act'(y): short rows in one pass over all rows first, long ones channel by
            // channel below, where the channel's rows are still in cache for its sums.
            const bool rows_first = activation != Act::None && l.S < kShortActivationRow;
            const auto activation_grad = [&](int64 lo, int64 hi) {
                with_activation(activation, [&]<Act A>(std::integral_constant<Act, A>) {
                    detail::affine_activation_grad_rows<A, T>(l.C, l.S, lo, hi, xp, scale.data(), shift.data(),
                                                             dout.data_ptr<T>(), dy.data_ptr<T>());
                });
            };
            if (rows_first) kernels::parallel_for(0, l.N * l.C, l.numel(), activation_grad);
            for_each_channel(l, [&](int64 c) {
                if (activation != Act::None && !rows_first)
                    for (int64 n = 0; n < l.N; ++n) activation_grad(n * l.C + c, n * l.C + c + 1);
                const T mu = static_cast<T>(mean[c]);
                const int64 row_stride = l.C * l.S;
                const T* dfirst = d + c * l.S;
                const T* xfirst = need_x ? xp + c * l.S : nullptr;
                double sdy = 0, sdyx = 0;
                if constexpr (std::is_same_v<T, float>) {
                    double sums[2];
                    kernels::channel_grad_sums(l.N, l.S, row_stride, dfirst, xfirst, mu, sums);
                    sdy = sums[0];
                    sdyx = sums[1];
                } else {
                    sdy = detail::lane_sum_rows<T>(l.N, l.S, [&](int64 n, int64 i) { return dfirst[n * row_stride + i]; });
                    if (need_x)
                        sdyx = detail::lane_sum_rows<T>(l.N, l.S, [&](int64 n, int64 i) {
                            const int64 k = n * row_stride + i;
                            return dfirst[k] * (xfirst[k] - mu);
                        });
                }
                sum_dy[c] = sdy;
                sum_dy_xhat[c] = sdyx * invstd[c];
                if (dx == nullptr) return;
                const double k = weight[c] * invstd[c];
                // dx = a·dy + b·x + e: the training formula with x̂ expanded
                double a = k, b = 0, e = 0;
                if (training) {
                    const double M = static_cast<double>(l.M());
                    b = -k * invstd[c] * sum_dy_xhat[c] / M;
                    e = -k * sdy / M - b * mean[c];
                }
                const T at = static_cast<T>(a), bt = static_cast<T>(b), et = static_cast<T>(e);
                if constexpr (std::is_same_v<T, float>) {
                    kernels::channel_grad(l.N, l.S, row_stride, dfirst, training ? xfirst : nullptr, at, bt, et,
                                          dx + c * l.S);
                    return;
                }
                for (int64 n = 0; n < l.N; ++n) {
                    const int64 off = (n * l.C + c) * l.S;
                    if (training)
                        for (int64 i = 0; i < l.S; ++i) dx[off + i] = at * d[off + i] + bt * xp[off + i] + et;
                    else
                        for (int64 i = 0; i < l.S; ++i) dx[off + i] = at * d[off + i];
                }
            });
        });
        if (need_dw) grads[1] = from_vector(sum_dy_xhat).to(dy.dtype());
        if (need_db) grads[2] = from_vector(sum_dy).to(dy.dtype());
        return grads;
    }
    void release_saved() override { x.release(); }
    BnLayout l{};
    bool training = false;
    Act activation = Act::None;
    std::vector<double> mean, invstd, weight;  // per channel, at forward time (weight 1 without affine)
    std::vector<double> scale, shift;          // y = x·scale + shift, the activation's input (with one)
    SavedTensor x;
};

void check_channel_tensor(const char* what, const Tensor& t, const Tensor& x) {
    if (!t.defined()) return;
    if (t.dim() != 1 || t.size(0) != x.size(1))
        throw ShapeError(std::string("batch_norm: ") + what + " has shape " + shape_str(t.shape()) + ", expected [" +
                         std::to_string(x.size(1)) + "] (input " + shape_str(x.shape()) + ")");
    detail::check_same_dtype(x, t, "batch_norm");
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps, BatchNormActivation activation) {
    GRAFT_PROFILE_SCOPE(activation == Act::None ? "batch_norm" : "batch_norm_activation");
    if (input.dim() < 2)
        throw ShapeError("batch_norm: expected an input [N, C] or [N, C, *], got " + shape_str(input.shape()));
    if (!is_floating(input.dtype()))
        throw DTypeError(std::string("batch_norm: expected a floating-point input, got ") +
                         dtype_name(input.dtype()));
    check_channel_tensor("running_mean", running_mean, input);
    check_channel_tensor("running_var", running_var, input);
    check_channel_tensor("weight", weight, input);
    check_channel_tensor("bias", bias, input);
    if (running_mean.defined() != running_var.defined())
        throw ValueError("batch_norm: running_mean and running_var must both be given or both be undefined");
    if (!training && !running_mean.defined())
        throw ValueError("batch_norm: running_mean and running_var must be given in eval mode (training=false)");
    if (!(eps >= 0)) throw ValueError("batch_norm: eps must be non-negative, got " + std::to_string(eps));

    BnLayout l{input.size(0), input.size(1), 1};
    for (int64 d = 2; d < input.dim(); ++d) l.S *= input.size(d);
    if (training && l.M() <= 1)
        throw ValueError("batch_norm: expected more than 1 value per channel when training, got input " +
                         shape_str(input.shape()));

    const auto C = static_cast<std::size_t>(l.C);
    std::vector<double> mean(C), var(C), invstd(C), w(C, 1.0), scale(C), shift(C, 0.0);
    if (weight.defined()) w = weight.to_vector<double>();
    if (bias.defined()) shift = bias.to_vector<double>();
    const Tensor xc = input.detach().contiguous();
    Tensor out = empty(input.shape(), input.dtype());
    detail::dispatch_floating(input.dtype(), "batch_norm", [&]<class T>() {
        if (training) {
            batch_stats<T>(l, xc, mean, var);
        } else {
            mean = running_mean.to_vector<double>();
            var = running_var.to_vector<double>();
        }
        scale = w;
        detail::batch_norm_affine(mean, var, eps, scale, shift, &invstd);
        normalize<T>(l, xc.data_ptr<T>(), out.data_ptr<T>(), scale, shift, activation);
    });

    if (training && running_mean.defined()) {
        NoGradGuard guard;
        const double unbias = static_cast<double>(l.M()) / static_cast<double>(l.M() - 1);
        std::vector<double> unbiased(C);
        for (std::size_t c = 0; c < C; ++c) unbiased[c] = var[c] * unbias;
        Tensor(running_mean).mul_(1.0 - momentum).add_(from_vector(mean).to(running_mean.dtype()), momentum);
        Tensor(running_var).mul_(1.0 - momentum).add_(from_vector(unbiased).to(running_var.dtype()), momentum);
    }

    if (auto node = autograd::make_node<BatchNormBackward>({&input, &weight, &bias}, out)) {
        node->l = l;
        node->training = training;
        node->mean = std::move(mean);
        node->invstd = std::move(invstd);
        node->weight = std::move(w);
        node->activation = activation;
        if (activation != Act::None) {
            node->scale = std::move(scale);
            node->shift = std::move(shift);
        }
        if (node->needs_input_grad(1) || (node->needs_input_grad(0) && training) || activation != Act::None)
            node->x = SavedTensor(input);
    }
    return out;
}

}  // namespace graft::nn::functional
