// Losses: cross_entropy (one fused node: log-softmax, NLL and label smoothing together),
// nll_loss (fused), binary_cross_entropy_with_logits (an elementwise node, then the
// reduction) and mse_loss (composed of ops); each forward followed by its backward.
// cross_entropy on float32 logits with the classes last ([C] or [N, C]) runs the fused vector
// row kernels (kernels/vector): the forward keeps each row's max and log Σ exp, the backward
// writes w·(softmax − ε/C − (1 − ε)·onehot) in one pass.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/frees_saved.hpp"
#include "core/dispatch.hpp"
#include "kernels/cpu/parallel.hpp"
#include "graft/autograd.hpp"
#include "graft/functional.hpp"
#include "graft/profiler.hpp"
#include "ops/elementwise.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::nn::functional {

namespace {

/// A double as the shortest usual text ("1.5", not "1.500000").
std::string num_str(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

/// The multi-index of flat position `flat` in `shape`, as "[i, j, …]".
std::string position_str(std::int64_t flat, const Shape& shape) {
    Shape idx(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    return shape_str(idx);
}

/// The inputs of a class-indexed loss: scores seen as [outer, C, inner], one int64 target per
/// (outer, inner) position, in the target's row-major order.
struct ClassLayout {
    std::int64_t outer = 1, classes = 1, inner = 1;
    Tensor target;           // contiguous int64, outer·inner values
    std::int64_t count = 0;  // targets other than ignore_index
    std::int64_t positions() const { return outer * inner; }
};

/// Validates dtypes, shapes and target values; `what` names the scores in messages.
ClassLayout check_class_inputs(const Tensor& scores, const Tensor& target, std::int64_t ignore_index, const char* op,
                               const char* what) {
    const std::string o(op);
    if (!is_floating(scores.dtype()))
        throw DTypeError(o + ": " + what + " must be float32 or float64, got " + dtype_name(scores.dtype()) + " " +
                         shape_str(scores.shape()));
    if (target.dtype() != DType::Int64)
        throw DTypeError(o + ": targets must be int64 class indices, got " + dtype_name(target.dtype()) + " " +
                         shape_str(target.shape()));
    if (scores.dim() == 0)
        throw ShapeError(o + ": " + what +
                         " need a class dimension ([C], [N, C] or [N, C, d1, ...]), got a 0-d tensor");
    ClassLayout l;
    Shape want;
    const Shape& s = scores.shape();
    if (scores.dim() == 1) {
        l.classes = s[0];
    } else {
        l.outer = s[0];
        l.classes = s[1];
        want.push_back(s[0]);
        for (std::size_t d = 2; d < s.size(); ++d) {
            l.inner *= s[d];
            want.push_back(s[d]);
        }
    }
    if (target.shape() != want)
        throw ShapeError(o + ": " + what + " " + shape_str(s) + " need targets of shape " + shape_str(want) + ", got " +
                         shape_str(target.shape()));
    l.target = target.contiguous();
    const std::int64_t* t = l.target.data_ptr<std::int64_t>();
    for (std::int64_t p = 0; p < l.positions(); ++p) {
        if (t[p] == ignore_index) continue;
        if (t[p] < 0 || t[p] >= l.classes)
            throw IndexError(o + ": target " + std::to_string(t[p]) +
                             (target.dim() > 0 ? " at position " + position_str(p, target.shape()) : std::string()) +
                             " is out of range for " + std::to_string(l.classes) + " classes (ignore_index is " +
                             std::to_string(ignore_index) + ")");
        ++l.count;
    }
    return l;
}

/// Per-position losses → the result: as they are (the target's shape), their sum, or their
/// mean over the `count` positions not ignored (NaN when every position is ignored, as in PyTorch).
Tensor reduce_positions(const std::vector<double>& losses, Reduction reduction, const ClassLayout& l, DType dtype,
                        const char* op) {
    if (reduction != Reduction::None && reduction != Reduction::Mean && reduction != Reduction::Sum)
        throw ValueError(std::string(op) + ": unknown reduction " + std::to_string(static_cast<int>(reduction)));
    Tensor out = empty(reduction == Reduction::None ? l.target.shape() : Shape{}, dtype);
    detail::dispatch_floating(dtype, op, [&]<class T>() {
        T* o = out.template data_ptr<T>();
        if (reduction == Reduction::None) {
            for (std::size_t p = 0; p < losses.size(); ++p) o[p] = static_cast<T>(losses[p]);
            return;
        }
        double total = 0;
        for (double v : losses) total += v;
        o[0] = static_cast<T>(reduction == Reduction::Mean ? total / static_cast<double>(l.count) : total);
    });
    return out;
}

/// The factor dL/dloss_p for a position that is not ignored: dout_p (None), dout (Sum) or dout/count (Mean).
template <class T>
struct PositionGrad {
    PositionGrad(const Tensor& g, Reduction r, std::int64_t count)
        : gc(g.contiguous()), per_position(r == Reduction::None) {
        p = gc.template data_ptr<T>();
        if (!per_position)
            scalar = static_cast<double>(p[0]) / (r == Reduction::Mean ? static_cast<double>(count) : 1.0);
    }
    double operator()(std::int64_t pos) const { return per_position ? static_cast<double>(p[pos]) : scalar; }
    Tensor gc;
    bool per_position;
    const T* p = nullptr;
    double scalar = 0;
};

Tensor apply_reduction(const Tensor& losses, Reduction reduction, const char* op) {
    switch (reduction) {
        case Reduction::None: return losses;
        case Reduction::Mean: return mean(losses);
        case Reduction::Sum: return sum(losses);
    }
    throw ValueError(std::string(op) + ": unknown reduction " + std::to_string(static_cast<int>(reduction)));
}

// ---- cross_entropy ----------------------------------------------------------------------
// loss_p = (1−ε)·(lse_p − x[p, t_p]) + (ε/C)·Σ_c (lse_p − x[p, c])   (0 where t_p = ignore_index)
//   ⇒  dx[p, c] = w_p · (softmax(x)[p, c] − (1−ε)·[c = t_p] − ε/C),  w_p = dloss_p (0 where ignored)
struct CrossEntropyBackward final : Node {
    CrossEntropyBackward(ClassLayout lay, Reduction r, std::int64_t ig, double e)
        : layout(std::move(lay)), reduction(r), ignore_index(ig), eps(e) {
        layout.target = Tensor();  // saved separately, with version tracking
    }
    const char* name() const override { return "CrossEntropyBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor x = logits.unpack(name()).contiguous();
        const Tensor lse_t = lse.unpack(name());
        const Tensor tgt = target.unpack(name());
        // The gradient overwrites the logits when nothing else can read them again: the graph is
        // freed after this node and no tensor but this node's (and x) holds them or a view of
        // them. A language model's backward then holds one vocabulary-wide [positions, classes]
        // buffer fewer at its peak. The kernels read each logit before writing its gradient.
        const bool reuse = autograd::detail::frees_saved_after_apply() && x.impl_ptr().use_count() <= 2 &&
                           x.storage().use_count() == 1 && x.storage()->writable();
        Tensor dx = reuse ? x : empty(x.shape(), x.dtype());
        if (lse_t.dtype() == DType::Float32) {  // the vector kernels' forward: rows [max; log_sum]
            const PositionGrad<float> w(g, reduction, layout.count);
            const std::int64_t n = layout.positions();
            std::vector<float> scale(static_cast<std::size_t>(n));
            for (std::int64_t p = 0; p < n; ++p) scale[static_cast<std::size_t>(p)] = static_cast<float>(w(p));
            const float* stats = lse_t.data_ptr<float>();
            kernels::cross_entropy_grad_rows(n, layout.classes, x.data_ptr<float>(), stats, stats + n,
                                             tgt.data_ptr<std::int64_t>(), ignore_index, static_cast<float>(eps),
                                             scale.data(), dx.data_ptr<float>());
            return {dx};
        }
        detail::dispatch_floating(x.dtype(), name(), [&]<class T>() {
            const PositionGrad<T> w(g, reduction, layout.count);
            const T* xp = x.template data_ptr<T>();
            const double* lp = lse_t.data_ptr<double>();
            const std::int64_t* tp = tgt.data_ptr<std::int64_t>();
            T* dp = dx.template data_ptr<T>();
            const std::int64_t C = layout.classes, inner = layout.inner, n = layout.positions();
            const double off = eps / static_cast<double>(C);
            kernels::parallel_for(0, n, n * C, [&](std::int64_t lo, std::int64_t hi) {
                for (std::int64_t p = lo; p < hi; ++p) {
                    const std::int64_t base = (p / inner) * C * inner + p % inner;
                    if (tp[p] == ignore_index) {
                        for (std::int64_t j = 0; j < C; ++j) dp[base + j * inner] = T(0);
                        continue;
                    }
                    const double wp = w(p);
                    for (std::int64_t j = 0; j < C; ++j) {
                        const T prob = std::exp(static_cast<T>(static_cast<double>(xp[base + j * inner]) - lp[p]));
                        const double hot = j == tp[p] ? 1.0 - eps : 0.0;
                        dp[base + j * inner] = static_cast<T>(wp * (static_cast<double>(prob) - off - hot));
                    }
                }
            });
        });
        return {dx};
    }
    void release_saved() override {
        logits.release();
        lse.release();
        target.release();
    }
    ClassLayout layout;
    Reduction reduction;
    std::int64_t ignore_index;
    double eps;
    SavedTensor logits, target;
    SavedTensor lse;  // float64 [positions] log Σ exp, or from the vector kernels float32 [2, rows]: max; log_sum
};

// ---- nll_loss -------------------------------------------------------------------------------
// loss_p = −x[p, t_p]  (0 where ignored)  ⇒  dx[p, t_p] = −w_p, 0 elsewhere
struct NllLossBackward final : Node {
    NllLossBackward(std::int64_t cls, std::int64_t in, std::int64_t cnt, Reduction r, std::int64_t ig)
        : classes(cls), inner(in), count(cnt), reduction(r), ignore_index(ig) {}
    const char* name() const override { return "NllLossBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor tgt = target.unpack(name());
        Tensor dx = zeros(input_shapes[0], g.dtype());
        detail::dispatch_floating(g.dtype(), name(), [&]<class T>() {
            const PositionGrad<T> w(g, reduction, count);
            const std::int64_t* tp = tgt.data_ptr<std::int64_t>();
            T* dp = dx.template data_ptr<T>();
            for (std::int64_t p = 0, n = tgt.numel(); p < n; ++p) {
                if (tp[p] == ignore_index) continue;
                dp[(p / inner) * classes * inner + tp[p] * inner + p % inner] = static_cast<T>(-w(p));
            }
        });
        return {dx};
    }
    void release_saved() override { target.release(); }
    std::int64_t classes, inner, count;
    Reduction reduction;
    std::int64_t ignore_index;
    SavedTensor target;
};

// ---- binary_cross_entropy_with_logits ----------------------------------------------------------
/// log(1 + e^(−x)), stable for both signs.
template <class T>
T softplus_neg(T x) {
    return (x < 0 ? -x : T(0)) + std::log1p(std::exp(-std::abs(x)));
}

/// σ(−x) = 1 / (1 + eˣ), stable for both signs.
template <class T>
T sigmoid_neg(T x) {
    if (x <= 0) return T(1) / (T(1) + std::exp(x));
    const T e = std::exp(-x);
    return e / (T(1) + e);
}

/// out[i] = f(x[i], t[i], pw[i]) over x's shape; t has x's shape, pw broadcasts (1 when absent).
template <class T, class F>
Tensor bce_map(const Tensor& x, const Tensor& t, const Tensor& pos_weight, F&& f) {
    const Tensor pw = pos_weight.defined() ? pos_weight : scalar_tensor(1.0, x.dtype());
    Tensor out = empty(x.shape(), x.dtype());
    T* o = out.data_ptr<T>();
    const T* px = detail::storage_ptr<T>(x);
    const T* pt = detail::storage_ptr<T>(t);
    const T* pp = detail::storage_ptr<T>(pw);
    const std::array<Shape, 4> strides{out.strides(), x.strides(), t.strides(),
                                       detail::broadcast_strides(pw, x.shape())};
    detail::for_each_row<4>(
        x.shape(), strides, {0, x.offset(), t.offset(), pw.offset()}, [&](auto off, std::int64_t n, auto in) {
            for (std::int64_t i = 0; i < n; ++i)
                o[off[0] + i * in[0]] = f(px[off[1] + i * in[1]], pt[off[2] + i * in[2]], pp[off[3] + i * in[3]]);
        });
    return out;
}

// loss = (1−t)·x + lw·softplus(−x),  lw = 1 + (pw−1)·t
//   ⇒  dx = dout·((1−t) − lw·σ(−x)),  dt = dout·(−x + (pw−1)·softplus(−x)),  dpw = sum_to(dout·t·softplus(−x))
struct BceWithLogitsBackward final : Node {
    const char* name() const override { return "BinaryCrossEntropyWithLogitsBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor xv = x.unpack(name()), tv = t.unpack(name()), pv = pw.unpack(name());
        std::vector<Tensor> out(3);
        detail::dispatch_floating(xv.dtype(), name(), [&]<class T>() {
            if (needs_input_grad(0))
                out[0] = mul(g, bce_map<T>(xv, tv, pv, [](T a, T b, T p) {
                                 return (T(1) - b) - (T(1) + (p - T(1)) * b) * sigmoid_neg(a);
                             }));
            if (needs_input_grad(1))
                out[1] = mul(g, bce_map<T>(xv, tv, pv, [](T a, T, T p) { return -a + (p - T(1)) * softplus_neg(a); }));
            if (needs_input_grad(2))
                out[2] = sum_to(mul(g, bce_map<T>(xv, tv, pv, [](T a, T b, T) { return b * softplus_neg(a); })),
                                input_shapes[2]);
        });
        return out;
    }
    void release_saved() override {
        x.release();
        t.release();
        pw.release();
    }
    SavedTensor x, t, pw;
};

}  // namespace

namespace {

// ---- cross_entropy with class weights or probability targets ---------------------------------
// Composed of differentiable ops (log_softmax, gather, sums), PyTorch's formulas:
//   class targets:  loss_p = w[t_p]·(−(1−ε)·lp[p, t_p]) + (ε/C)·(−Σ_c w_c·lp[p, c]),  Mean: Σ_p loss_p / Σ_p w[t_p]
//   probabilities:  loss_p = −Σ_c w_c·((1−ε)·q[p, c] + ε/C)·lp[p, c],              Mean: Σ_p loss_p / positions

/// The weight [C] seen with the logits' class dimension (1, or 0 for [C] logits) for broadcasting.
Tensor class_weight_view(const Tensor& weight, const Tensor& logits, std::int64_t C) {
    if (weight.dim() != 1 || weight.size(0) != C)
        throw ShapeError("cross_entropy: weight must have shape [" + std::to_string(C) + "] (one per class of logits " +
                         shape_str(logits.shape()) + "), got " + shape_str(weight.shape()));
    if (weight.dtype() != logits.dtype())
        throw DTypeError(std::string("cross_entropy: weight has dtype ") + dtype_name(weight.dtype()) + ", the logits " +
                         dtype_name(logits.dtype()));
    Shape view(static_cast<std::size_t>(logits.dim()), 1);
    view[logits.dim() == 1 ? 0 : 1] = C;
    return weight.reshape(view);
}

Tensor cross_entropy_weighted(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options,
                              const ClassLayout& l) {
    const double eps = options.label_smoothing;
    const std::int64_t class_dim = logits.dim() == 1 ? 0 : 1;
    const Tensor w = class_weight_view(options.weight, logits, l.classes);
    const Tensor lp = log_softmax(logits, class_dim);
    // Ignored positions pick class 0 and are masked out.
    const Tensor keep = ne(target, static_cast<double>(options.ignore_index));
    const Tensor safe_target = masked_fill(target, logical_not(keep), 0.0);
    const Tensor picked = gather(lp, class_dim, safe_target.unsqueeze(class_dim)).squeeze(class_dim);
    const Tensor keep_f = keep.to(logits.dtype());
    const Tensor w_t = mul(index_select(options.weight, 0, safe_target.flatten()).reshape(target.shape()), keep_f);
    Tensor losses = mul(neg(picked), w_t);
    if (eps > 0.0) {
        const Tensor smooth = mul(neg(sum(mul(lp, w), {class_dim})), keep_f);
        losses = add(mul(losses, 1.0 - eps), mul(smooth, eps / static_cast<double>(l.classes)));
    }
    switch (options.reduction) {
        case Reduction::None: return losses;
        case Reduction::Sum: return sum(losses);
        case Reduction::Mean: {
            const Tensor total = sum(w_t);
            // Every position ignored (or of weight 0): PyTorch's loss is 0/0 = NaN with a zero
            // gradient, where dividing would send 0·∞ = NaN back to the logits.
            if (total.item<double>() == 0.0)
                return add(mul(sum(losses), 0.0), std::numeric_limits<double>::quiet_NaN());
            return div(sum(losses), total);
        }
    }
    throw ValueError("cross_entropy: unknown reduction " + std::to_string(static_cast<int>(options.reduction)));
}

Tensor cross_entropy_probabilities(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
    const double eps = options.label_smoothing;
    if (!is_floating(logits.dtype()))
        throw DTypeError(std::string("cross_entropy: logits must be float32 or float64, got ") + dtype_name(logits.dtype()) + " " +
                         shape_str(logits.shape()));
    if (logits.dim() == 0)
        throw ShapeError("cross_entropy: logits need a class dimension ([C], [N, C] or [N, C, d1, ...]), got a 0-d tensor");
    if (target.shape() != logits.shape())  // neither class indices nor probabilities
        throw DTypeError(std::string("cross_entropy: targets must be int64 class indices, got ") +
                         dtype_name(target.dtype()) + " " + shape_str(target.shape()) +
                         " (or class probabilities of the logits' shape " + shape_str(logits.shape()) + ")");
    if (target.dtype() != logits.dtype())
        throw DTypeError(std::string("cross_entropy: probability targets have dtype ") + dtype_name(target.dtype()) +
                         ", the logits " + dtype_name(logits.dtype()));
    if (options.ignore_index >= 0)
        throw ValueError("cross_entropy: ignore_index (" + std::to_string(options.ignore_index) +
                         ") is not supported with probability targets");
    const std::int64_t class_dim = logits.dim() == 1 ? 0 : 1;
    const std::int64_t C = logits.size(class_dim);
    const Tensor lp = log_softmax(logits, class_dim);
    Tensor q = eps > 0.0 ? add(mul(target, 1.0 - eps), eps / static_cast<double>(C)) : target;
    if (options.weight.defined()) q = mul(q, class_weight_view(options.weight, logits, C));
    const Tensor losses = neg(sum(mul(lp, q), {class_dim}));
    switch (options.reduction) {
        case Reduction::None: return losses;
        case Reduction::Sum: return sum(losses);
        case Reduction::Mean: return div(sum(losses), static_cast<double>(logits.numel() / std::max<std::int64_t>(C, 1)));
    }
    throw ValueError("cross_entropy: unknown reduction " + std::to_string(static_cast<int>(options.reduction)));
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
    GRAFT_PROFILE_SCOPE("cross_entropy");
    const char* op = "cross_entropy";
    const double eps = options.label_smoothing;
    if (!(eps >= 0.0 && eps <= 1.0))
        throw ValueError("cross_entropy: label_smoothing must be in [0, 1], got " + num_str(eps));
    if (is_floating(target.dtype())) return cross_entropy_probabilities(logits, target, options);
    if (options.weight.defined())
        return cross_entropy_weighted(logits, target, options,
                                      check_class_inputs(logits, target, options.ignore_index, op, "logits"));
    const ClassLayout l = check_class_inputs(logits, target, options.ignore_index, op, "logits");
    const std::int64_t n = l.positions(), C = l.classes, inner = l.inner;
    std::vector<double> losses(static_cast<std::size_t>(n));
    Tensor lse;
    if (logits.dtype() == DType::Float32 && inner == 1) {
        const Tensor xc = logits.is_contiguous() ? logits : logits.detach().contiguous();
        lse = empty({2, n}, DType::Float32);
        std::vector<float> row_loss(static_cast<std::size_t>(n));
        float* stats = lse.data_ptr<float>();
        kernels::cross_entropy_rows(n, C, xc.data_ptr<float>(), l.target.data_ptr<std::int64_t>(), options.ignore_index,
                                    static_cast<float>(eps), row_loss.data(), stats, stats + n);
        std::copy(row_loss.begin(), row_loss.end(), losses.begin());
    } else {
        lse = empty({n}, DType::Float64);
        detail::dispatch_floating(logits.dtype(), op, [&]<class T>() {
            const Tensor xc = logits.is_contiguous() ? logits : logits.detach().contiguous();
            const T* xp = xc.template data_ptr<T>();
            const std::int64_t* tp = l.target.data_ptr<std::int64_t>();
            double* lp = lse.data_ptr<double>();
            const std::int64_t ignore = options.ignore_index;
            kernels::parallel_for(0, n, n * C, [&](std::int64_t lo, std::int64_t hi) {
                for (std::int64_t p = lo; p < hi; ++p) {
                    const std::size_t pi = static_cast<std::size_t>(p);
                    if (tp[p] == ignore) {
                        losses[pi] = 0;
                        lp[p] = 0;
                        continue;
                    }
                    const T* row = xp + (p / inner) * C * inner + p % inner;
                    double m = -INFINITY;
                    for (std::int64_t j = 0; j < C; ++j) {
                        const double v = static_cast<double>(row[j * inner]);
                        if (v > m) m = v;  // a NaN still propagates through the sum
                    }
                    double sumexp = 0, sumx = 0;
                    for (std::int64_t j = 0; j < C; ++j) {
                        const double v = static_cast<double>(row[j * inner]);
                        sumexp += static_cast<double>(std::exp(static_cast<T>(v - m)));
                        sumx += v;
                    }
                    const double logz = m + std::log(sumexp);
                    lp[p] = logz;
                    const double nll = logz - static_cast<double>(row[tp[p] * inner]);
                    losses[pi] = eps == 0.0 ? nll
                                            : (1.0 - eps) * nll +
                                                  eps / static_cast<double>(C) * (static_cast<double>(C) * logz - sumx);
                }
            });
        });
    }
    Tensor out = reduce_positions(losses, options.reduction, l, logits.dtype(), op);
    if (auto node = autograd::make_node<CrossEntropyBackward>({&logits}, out, l, options.reduction,
                                                              options.ignore_index, eps)) {
        node->logits = SavedTensor(logits);
        node->lse = SavedTensor(lse);
        node->target = SavedTensor(l.target);
    }
    return out;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction, std::int64_t ignore_index) {
    GRAFT_PROFILE_SCOPE("nll_loss");
    const char* op = "nll_loss";
    const ClassLayout l = check_class_inputs(log_probs, target, ignore_index, op, "log_probs");
    std::vector<double> losses(static_cast<std::size_t>(l.positions()));
    detail::dispatch_floating(log_probs.dtype(), op, [&]<class T>() {
        const Tensor xc = log_probs.is_contiguous() ? log_probs : log_probs.detach().contiguous();
        const T* xp = xc.template data_ptr<T>();
        const std::int64_t* tp = l.target.data_ptr<std::int64_t>();
        for (std::int64_t p = 0; p < l.positions(); ++p)
            losses[static_cast<std::size_t>(p)] =
                tp[p] == ignore_index
                    ? 0.0
                    : -static_cast<double>(xp[(p / l.inner) * l.classes * l.inner + tp[p] * l.inner + p % l.inner]);
    });
    Tensor out = reduce_positions(losses, reduction, l, log_probs.dtype(), op);
    if (auto node = autograd::make_node<NllLossBackward>({&log_probs}, out, l.classes, l.inner, l.count, reduction,
                                                         ignore_index))
        node->target = SavedTensor(l.target);
    return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    GRAFT_PROFILE_SCOPE("mse_loss");
    const char* op = "mse_loss";
    if (!is_floating(input.dtype()))
        throw DTypeError(std::string(op) + ": input must be float32 or float64, got " + dtype_name(input.dtype()) +
                         " " + shape_str(input.shape()));
    detail::check_same_dtype(input, target, op);
    detail::broadcast_shapes(input.shape(), target.shape(), op);
    const Tensor d = sub(input, target);
    return apply_reduction(mul(d, d), reduction, op);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction,
                                        const Tensor& pos_weight) {
    GRAFT_PROFILE_SCOPE("binary_cross_entropy_with_logits");
    const std::string op = "binary_cross_entropy_with_logits";
    if (!is_floating(logits.dtype()))
        throw DTypeError(op + ": logits must be float32 or float64, got " + dtype_name(logits.dtype()) + " " +
                         shape_str(logits.shape()));
    detail::check_same_dtype(logits, target, op.c_str());
    if (target.shape() != logits.shape())
        throw ShapeError(op + ": target of shape " + shape_str(target.shape()) + " must match logits of shape " +
                         shape_str(logits.shape()));
    if (pos_weight.defined()) {
        detail::check_same_dtype(logits, pos_weight, op.c_str());
        if (detail::broadcast_shapes(pos_weight.shape(), logits.shape(), op.c_str()) != logits.shape())
            throw ShapeError(op + ": pos_weight of shape " + shape_str(pos_weight.shape()) +
                             " does not broadcast to logits of shape " + shape_str(logits.shape()) +
                             " (expected one weight per class of the last dim)");
    }
    Tensor losses = detail::dispatch_floating(logits.dtype(), op.c_str(), [&]<class T>() {
        return bce_map<T>(logits, target, pos_weight,
                          [](T x, T t, T pw) { return (T(1) - t) * x + (T(1) + (pw - T(1)) * t) * softplus_neg(x); });
    });
    if (auto node = autograd::make_node<BceWithLogitsBackward>({&logits, &target, &pos_weight}, losses)) {
        node->x = SavedTensor(logits);
        node->t = SavedTensor(target);
        node->pw = SavedTensor(pos_weight);
    }
    return apply_reduction(losses, reduction, op.c_str());
}

}  // namespace graft::nn::functional
