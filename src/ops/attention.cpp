// scaled_dot_product_attention: argument checks, the fused forward (kernels/attention) followed
// by its backward node, and the unfused reference built from ordinary autograd ops.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/attention/attention.hpp"
#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/functional/attention.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/elementwise.hpp"

namespace graft::nn::functional {

namespace {

/// The checked sizes of one call.
struct AttnSizes {
    std::int64_t B, H, Tq, Tk, D, Dv;
};

AttnSizes check_attention_args(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                               const char* op) {
    const auto fail = [&](const std::string& what) {
        throw ShapeError(std::string(op) + ": " + what + " (q " + shape_str(q.shape()) + ", k " +
                         shape_str(k.shape()) + ", v " + shape_str(v.shape()) + ")");
    };
    if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) fail("q, k and v must be 4-D [B, H, T, D]");
    const AttnSizes s{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3)};
    if (k.size(0) != s.B || v.size(0) != s.B || k.size(1) != s.H || v.size(1) != s.H)
        fail("batch and head dims must match");
    if (k.size(3) != s.D) fail("q and k must have the same last dim");
    if (v.size(2) != s.Tk) fail("k and v must have the same sequence length");
    detail::check_same_dtype(q, k, op);
    detail::check_same_dtype(q, v, op);
    if (s.Tk == 0) throw ValueError(std::string(op) + ": no keys to attend (k " + shape_str(k.shape()) + ")");
    if (s.D == 0) throw ValueError(std::string(op) + ": head dim D must be positive (q " + shape_str(q.shape()) + ")");
    if (options.causal && s.Tk < s.Tq)
        throw ValueError(std::string(op) + ": causal attention needs at least as many keys as queries, got Tq = " +
                         std::to_string(s.Tq) + " and Tk = " + std::to_string(s.Tk));
    if (!(options.dropout_p >= 0 && options.dropout_p < 1))
        throw ValueError(std::string(op) + ": dropout_p must lie in [0, 1), got " + std::to_string(options.dropout_p));
    return s;
}

/// options.mask as an additive mask of q's dtype (0 where a key is seen, −inf where hidden),
/// expanded (stride 0) to [B, H, Tq, Tk]; undefined without a mask. Shapes, dtype and
/// requires_grad checked as scaled_dot_product_attention documents.
Tensor additive_mask(const AttnSizes& s, const Tensor& q, const AttentionOptions& options, const char* op) {
    const Tensor& mask = options.mask;
    if (!mask.defined()) return Tensor();
    if (mask.requires_grad())
        throw ValueError(std::string(op) + ": the mask gets no gradient; pass mask.detach() (mask " +
                         shape_str(mask.shape()) + " requires grad)");
    const bool is_bool = mask.dtype() == DType::Bool;
    if (!is_bool && !is_floating(mask.dtype()))
        throw DTypeError(std::string(op) + ": the mask must be bool (true: attend) or floating (added to the scores), got " +
                         dtype_name(mask.dtype()));
    const Shape full{s.B, s.H, s.Tq, s.Tk};
    Tensor m = mask;
    if (mask.dim() == 2) {
        if (!is_bool || mask.size(0) != s.B || mask.size(1) != s.Tk)
            throw ShapeError(std::string(op) + ": a 2-D mask is a bool key padding mask [B, Tk] = " +
                             shape_str({s.B, s.Tk}) + ", got " + dtype_name(mask.dtype()) + " " + shape_str(mask.shape()) +
                             " (give other masks as [B|1, H|1, Tq|1, Tk])");
        m = mask.view({s.B, 1, 1, s.Tk});
    } else {
        bool fits = mask.dim() == 4;
        for (std::int64_t d = 0; fits && d < 4; ++d) fits = mask.size(d) == 1 || mask.size(d) == full[d];
        if (!fits)
            throw ShapeError(std::string(op) + ": the mask " + shape_str(mask.shape()) + " does not broadcast to [B, H, Tq, Tk] = " +
                             shape_str(full) + " (expected [B|1, H|1, Tq|1, Tk|1], or a bool [B, Tk])");
    }
    NoGradGuard guard;
    Tensor additive = is_bool ? masked_fill(zeros(m.shape(), q.dtype()), logical_not(m), -std::numeric_limits<double>::infinity())
                              : m.to(q.dtype());
    return additive.expand(full);
}

double scale_of(const AttnSizes& s, const AttentionOptions& options) {
    return options.scale.value_or(1.0 / std::sqrt(static_cast<double>(s.D)));
}

template <class T>
kernels::AttnOperand<T> operand(const Tensor& t) {
    return {t.data_ptr<T>(), t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
}

/// A [B, H, T, D] result with unit stride along D; undefined: {nullptr} (not asked for).
template <class T>
kernels::AttnResult<T> result(const Tensor& t) {
    if (!t.defined()) return {nullptr, 0, 0, 0};
    return {t.data_ptr<T>(), t.stride(0), t.stride(1), t.stride(2)};
}

/// The gradient of input x [B, H, T, D], laid out as x lies: [B, T, H, D] in memory where x's
/// heads are inner to its time steps (heads split from a [B, T, H·D] projection, whose
/// gradient is then a view of it), else contiguous.
Tensor gradient_like(const Tensor& x, DType dtype) {
    const bool heads_inner = x.size(1) > 1 && x.size(2) > 1 && x.stride(1) > 0 && x.stride(1) < x.stride(2);
    if (heads_inner) return empty({x.size(0), x.size(2), x.size(1), x.size(3)}, dtype).transpose(1, 2);
    return empty(x.shape(), dtype);
}

/// One call's attention dropout: the seed of its keep mask (one draw from the generator, so the
/// fused op and the reference, given generators in the same state, drop the same elements), the
/// keep threshold (kernels::attn_dropout_threshold) and 1/(1 − p). threshold 0: no dropout.
struct AttnDropout {
    std::uint64_t seed = 0, threshold = 0;
    double scale = 1.0;
};

AttnDropout draw_dropout(const AttentionOptions& options) {
    if (options.dropout_p == 0) return {};
    Generator& g = options.generator ? *options.generator : default_generator();
    return {g.next_u64(), kernels::attn_dropout_threshold(options.dropout_p), 1.0 / (1.0 - options.dropout_p)};
}

template <class T>
kernels::AttnProblem<T> problem(const AttnSizes& s, const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                                bool causal, const Tensor& mask, const AttnDropout& drop) {
    return {s.B, s.H, s.Tq, s.Tk, s.D, s.Dv, operand<T>(q), operand<T>(k), operand<T>(v), static_cast<T>(scale),
            causal, mask.defined() ? operand<T>(mask) : kernels::AttnOperand<T>{nullptr, 0, 0, 0, 0},
            drop.seed, drop.threshold, static_cast<T>(drop.scale)};
}

/// The reference's dropout factors: [B, H, Tq, Tk] of q's dtype, 1/(1 − p) where the fused
/// kernel keeps an element and 0 where it drops it (the same draw, kernels::attn_dropout_bits).
Tensor dropout_factors(const AttnSizes& s, const Tensor& q, const AttnDropout& drop) {
    Tensor f = empty({s.B, s.H, s.Tq, s.Tk}, q.dtype());
    detail::dispatch_floating(q.dtype(), "scaled_dot_product_attention_reference", [&]<class T>() {
        T* out = f.data_ptr<T>();
        const T kept = static_cast<T>(drop.scale);
        for (std::int64_t i = 0, n = f.numel(); i < n; ++i)
            out[i] = kernels::attn_dropout_bits(drop.seed, static_cast<std::uint64_t>(i)) >= drop.threshold ? kept : T(0);
    });
    return f;
}

// O = softmax(scale·Q·Kᵀ)·V, lse = log Σ_j exp(scale·Q·Kᵀ)
//   ⇒  dV = Pᵀ·dO,  dS = P∘(dO·Vᵀ − rowsum(dO∘O)),  dQ = scale·dS·K,  dK = scale·dSᵀ·Q
struct AttentionBackward final : Node {
    const char* name() const override { return "ScaledDotProductAttentionBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor qs = q.unpack(name()), ks = k.unpack(name()), vs = v.unpack(name());
        const Tensor o = out.unpack(name()), l = lse.unpack(name());
        const Tensor m = mask.defined() ? mask.unpack(name()) : Tensor();
        // The kernel reads dO at any strides with unit stride along Dv: the gradient of the
        // merged-heads view (a transposed [B, Tq, H, Dv] tensor) is used in place.
        const Tensor gc = g.stride(3) == 1 ? g : g.contiguous();
        Tensor dq, dk, dv;
        if (needs_input_grad(0)) dq = gradient_like(qs, gc.dtype());
        if (needs_input_grad(1)) dk = gradient_like(ks, gc.dtype());
        if (needs_input_grad(2)) dv = gradient_like(vs, gc.dtype());
        detail::dispatch_floating(gc.dtype(), name(), [&]<class T>() {
            kernels::attention_backward(problem<T>(sizes, qs, ks, vs, scale, causal, m, drop), operand<T>(o),
                                        l.data_ptr<T>(), operand<T>(gc), result<T>(dq), result<T>(dk), result<T>(dv));
        });
        return {dq, dk, dv};
    }
    void release_saved() override {
        q.release();
        k.release();
        v.release();
        out.release();
        lse.release();
        mask.release();
    }
    SavedTensor q, k, v;  // the inputs as given (any strides)
    SavedTensor out;      // [B, H, Tq, Dv], a transposed view of [B, Tq, H, Dv] memory
    SavedTensor lse;      // contiguous [B, H, Tq]
    SavedTensor mask;     // additive, expanded to [B, H, Tq, Tk]; undefined without a mask
    AttnSizes sizes{};
    double scale = 1.0;
    bool causal = false;
    AttnDropout drop;  // the forward's mask seed: the backward regenerates the mask from it
};

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
    GRAFT_PROFILE_SCOPE("scaled_dot_product_attention");
    constexpr const char* op = "scaled_dot_product_attention";
    const AttnSizes s = check_attention_args(q, k, v, options, op);
    const double scale = scale_of(s, options);
    const Tensor mask = additive_mask(s, q, options, op);
    const AttnDropout drop = draw_dropout(options);
    // [B, Tq, H, Dv] in memory, returned as its [B, H, Tq, Dv] transpose: merging the heads back,
    // out.transpose(1, 2).reshape({B, Tq, H·Dv}), is then a view, not a copy.
    Tensor out = empty({s.B, s.Tq, s.H, s.Dv}, q.dtype()).transpose(1, 2);
    Tensor lse = empty({s.B, s.H, s.Tq}, q.dtype());
    detail::dispatch_floating(q.dtype(), op, [&]<class T>() {
        kernels::attention_forward(problem<T>(s, q, k, v, scale, options.causal, mask, drop), result<T>(out),
                                   lse.data_ptr<T>());
    });
    if (auto node = autograd::make_node<AttentionBackward>({&q, &k, &v}, out)) {
        node->q = SavedTensor(q.detach());
        node->k = SavedTensor(k.detach());
        node->v = SavedTensor(v.detach());
        node->out = SavedTensor(out.detach());
        node->lse = SavedTensor(lse);
        if (mask.defined()) node->mask = SavedTensor(mask);
        node->sizes = s;
        node->scale = scale;
        node->causal = options.causal;
        node->drop = drop;
    }
    return out;
}

Tensor scaled_dot_product_attention_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionOptions& options) {
    GRAFT_PROFILE_SCOPE("scaled_dot_product_attention_reference");
    constexpr const char* op = "scaled_dot_product_attention_reference";
    const AttnSizes s = check_attention_args(q, k, v, options, op);
    const Tensor mask = additive_mask(s, q, options, op);
    const AttnDropout drop = draw_dropout(options);
    Tensor scores = mul(matmul(q, k.transpose(-2, -1)), scale_of(s, options));
    if (mask.defined()) scores = add(scores, mask);
    if (options.causal) {
        // hidden[i, j] = j − i > Tk − Tq
        const Tensor rows = arange(static_cast<double>(s.Tq)).unsqueeze(1);
        const Tensor cols = arange(static_cast<double>(s.Tk)).unsqueeze(0);
        const Tensor hidden = gt(sub(cols, rows), static_cast<double>(s.Tk - s.Tq));
        scores = masked_fill(scores, hidden, -std::numeric_limits<double>::infinity());
    }
    Tensor probs;
    if (mask.defined()) {
        // Rows that see no key: softmax over all −inf is NaN; those rows get zero weights instead
        // (their scores replaced by 0 before the softmax, so no NaN reaches the backward).
        Tensor hidden_row;
        {
            NoGradGuard guard;
            hidden_row = eq(max(scores.detach(), -1, /*keepdim=*/true).first, -std::numeric_limits<double>::infinity());
        }
        probs = masked_fill(softmax(masked_fill(scores, hidden_row, 0.0), -1), hidden_row, 0.0);
    } else {
        probs = softmax(scores, -1);
    }
    if (drop.threshold != 0) probs = mul(probs, dropout_factors(s, q, drop));
    return matmul(probs, v);
}

}  // namespace graft::nn::functional
