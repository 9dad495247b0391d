// Matrix products — matmul (PyTorch's 1-D, 2-D and batched rules) and linear — each forward
// followed by its backward. Every product is a call of the strided GEMM entry kernels::gemm<T>
// (float32: the dispatched, threaded sgemm; float64: the reference gemm_scalar): transposed
// operands are swapped strides and broadcast batch dims are stride 0, so nothing is copied
// except an operand whose leading dims cannot be folded into one row stride where a single GEMM
// over them is wanted (folded_tmm). linear's bias is added by the GEMM (float32: in its epilogue).
// A frozen bf16 weight (linear's w, matmul's 2-D right operand) is multiplied by
// ops/bf16_weight.hpp's product, in forward and for the input gradient.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <type_traits>

#include "core/dispatch.hpp"
#include "kernels/gemm/gemm.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/bf16_weight.hpp"
#include "ops/elementwise.hpp"
#include "ops/frozen_weight_pack.hpp"

namespace graft {

namespace {

/// t without its graph; a 1-D t as the row [1, n] (views: nothing is copied or recorded).
Tensor as_row_matrix(const Tensor& t) { return t.dim() == 1 ? t.detach().unsqueeze(0) : t.detach(); }

/// t without its graph; a 1-D t as the column [n, 1].
Tensor as_column_matrix(const Tensor& t) { return t.dim() == 1 ? t.detach().unsqueeze(1) : t.detach(); }

/// x [..., R, C] with its last two dims swapped (a view).
Tensor mT(const Tensor& x) { return x.transpose(-2, -1); }

/// Shape without its last two dims.
Shape batch_dims(const Tensor& x) { return Shape(x.shape().begin(), x.shape().end() - 2); }

/// x's strides over `batch` (x's batch dims right-aligned to it; 0 where x is broadcast).
Shape batch_strides(const Tensor& x, const Shape& batch) {
    Shape full = batch;
    full.push_back(x.size(-2));
    full.push_back(x.size(-1));
    Shape strides = detail::broadcast_strides(x, full);
    strides.resize(batch.size());
    return strides;
}

/// Product of every dim of x but the last: its row count when seen as one [rows, C] matrix.
std::int64_t folded_rows(const Tensor& x) {
    std::int64_t rows = 1;
    for (std::int64_t d = 0; d + 1 < x.dim(); ++d) rows *= x.shape()[d];
    return rows;
}

/// The single stride that walks every dim of x but the last as one row index, if the strides
/// allow it: then x [..., R, C] is a [folded_rows, C] matrix in place.
std::optional<std::int64_t> folded_row_stride(const Tensor& x) {
    std::optional<std::int64_t> row_stride;
    std::int64_t continues_with = 0;  // the stride an outer dim needs to extend the fold
    for (std::int64_t d = x.dim() - 2; d >= 0; --d) {
        const std::int64_t size = x.shape()[d], stride = x.strides()[d];
        if (size == 1) continue;
        if (row_stride && stride != continues_with) return std::nullopt;
        if (!row_stride) row_stride = stride;
        continues_with = stride * size;
    }
    return row_stride.value_or(0);  // at most one row: its stride is never used
}

/// out[i] = x[i]·y[i] + beta·out[i] (+ bias on every row) for every index i of
/// out's batch dims, with x [..., M, K] and y [..., K, N] broadcast over them; any strides.
/// When y is one matrix and x's batch and row dims fold into a single stride, that is one GEMM
/// over batch·M rows; otherwise each innermost run of batch indices is one batched GEMM.
template <class T>
void batched_gemm(const Tensor& x, const Tensor& y, T beta, const Tensor& out, const T* bias = nullptr) {
    const std::int64_t M = out.size(-2), N = out.size(-1), K = x.size(-1);
    const T* px = detail::storage_ptr<T>(x);
    const T* py = detail::storage_ptr<T>(y);
    T* po = detail::storage_ptr<T>(out);
    if (y.dim() == 2) {
        const std::optional<std::int64_t> rs_x = folded_row_stride(x), rs_out = folded_row_stride(out);
        if (rs_x && rs_out) {
            kernels::gemm<T>(folded_rows(out), N, K, T(1), px + x.offset(), *rs_x, x.stride(-1), py + y.offset(),
                             y.stride(0), y.stride(1), beta, po + out.offset(), *rs_out, out.stride(-1), bias);
            return;
        }
    }
    const Shape batch = batch_dims(out);
    const std::array<Shape, 3> strides{batch_strides(x, batch), batch_strides(y, batch), batch_strides(out, batch)};
    detail::for_each_row<3>(
        batch, strides, {x.offset(), y.offset(), out.offset()}, [&](auto off, std::int64_t n, auto inner) {
            if constexpr (std::is_same_v<T, float>) {
                kernels::sgemm_batched(n, M, N, K, 1.f, px + off[0], x.stride(-2), x.stride(-1), inner[0], py + off[1],
                                       y.stride(-2), y.stride(-1), inner[1], beta, po + off[2], out.stride(-2),
                                       out.stride(-1), inner[2], {bias, kernels::Activation::None});
            } else {
                for (std::int64_t i = 0; i < n; ++i)
                    kernels::gemm<T>(M, N, K, T(1), px + off[0] + i * inner[0], x.stride(-2), x.stride(-1),
                                     py + off[1] + i * inner[1], y.stride(-2), y.stride(-1), beta,
                                     po + off[2] + i * inner[2], out.stride(-2), out.stride(-1), bias);
            }
        });
}

/// x·y as a new contiguous [batch..., M, N], for x [..., M, K] and y [..., K, N] whose batch
/// dims broadcast (already validated).
template <class T>
Tensor batched_matmul(const Tensor& x, const Tensor& y) {
    Shape shape = detail::broadcast_shapes(batch_dims(x), batch_dims(y), "matmul");
    shape.push_back(x.size(-2));
    shape.push_back(y.size(-1));
    Tensor out = empty(shape, x.dtype());
    batched_gemm<T>(x, y, T(0), out);
    return out;
}

/// Σᵢ xᵢᵀ·yᵢ over the leading dims of x [..., R, P] and y [..., R, Q] (same leading dims), as one
/// GEMM [P, rows]·[rows, Q] with the leading dims folded into the rows. An operand whose dims do
/// not fold is made contiguous first. A 1-D x and y give their outer product.
template <class T>
Tensor folded_tmm(Tensor x, Tensor y) {
    std::optional<std::int64_t> rs_x = folded_row_stride(x), rs_y = folded_row_stride(y);
    if (!rs_x) {
        x = x.contiguous();
        rs_x = folded_row_stride(x);
    }
    if (!rs_y) {
        y = y.contiguous();
        rs_y = folded_row_stride(y);
    }
    const std::int64_t P = x.size(-1), Q = y.size(-1);
    Tensor out = empty({P, Q}, x.dtype());
    kernels::gemm<T>(P, Q, folded_rows(x), T(1), detail::storage_ptr<T>(x) + x.offset(), x.stride(-1), *rs_x,
                     detail::storage_ptr<T>(y) + y.offset(), *rs_y, y.stride(-1), T(0), out.data_ptr<T>(), Q, 1);
    return out;
}

// ---- matmul ------------------------------------------------------------------------------

/// The broadcast batch shape of a @ b; ShapeError naming both shapes when they do not fit.
Shape matmul_batch_shape(const Tensor& a, const Tensor& b) {
    const std::string what = "matmul: " + shape_str(a.shape()) + " @ " + shape_str(b.shape()) + ": ";
    if (a.dim() == 0 || b.dim() == 0) throw ShapeError(what + "both operands need at least 1 dimension");
    const std::int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
    if (ka != kb)
        throw ShapeError(what + "inner dimensions differ (" + std::to_string(ka) + " vs " + std::to_string(kb) + ")");
    const Shape ba = a.dim() > 2 ? batch_dims(a) : Shape{}, bb = b.dim() > 2 ? batch_dims(b) : Shape{};
    try {
        return detail::broadcast_shapes(ba, bb, "matmul");
    } catch (const ShapeError&) {
        // core's message names only the batch dims; this one names both operands' full shapes
        throw ShapeError(what + "batch dimensions " + shape_str(ba) + " and " + shape_str(bb) + " do not broadcast");
    }
}

// out = a·b, a [..., M, K], b [..., K, N] (batch dims broadcast; a 1-D a is a row [1, K] and a
// 1-D b a column [K, 1], their unit dim dropped from out)
//   ⇒ da = sum_to(dout·bᵀ, a.shape), db = sum_to(aᵀ·dout, b.shape)
struct MatmulBackward final : Node {
    const char* name() const override { return "MatmulBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const bool a_vec = input_shapes[0].size() == 1, b_vec = input_shapes[1].size() == 1;
        Tensor g2 = g;  // dout with the dropped unit dims restored: [batch..., M, N]
        if (a_vec) g2 = g2.unsqueeze(g2.dim() - (b_vec ? 0 : 1));
        if (b_vec) g2 = g2.unsqueeze(g2.dim());
        std::vector<Tensor> grads(2);
        detail::dispatch_floating(g.dtype(), name(), [&]<class T>() {
            if (needs_input_grad(0) && b_bf16) {
                grads[0] = detail::bf16_weight_matmul(g, b.unpack(name()), /*transpose_w=*/true);
            } else if (needs_input_grad(0)) {
                const Tensor b2 = as_column_matrix(b.unpack(name()));
                Shape a2_shape = input_shapes[0];
                if (a_vec) a2_shape.insert(a2_shape.begin(), 1);
                grads[0] = sum_to(batched_matmul<T>(g2, mT(b2)), a2_shape).reshape(input_shapes[0]);
            }
            if (needs_input_grad(1)) {
                const Tensor a2 = as_row_matrix(a.unpack(name()));
                // b one matrix: its gradient sums over every batch of a, so fold them into one GEMM
                const Tensor db2 = b_vec || input_shapes[1].size() == 2
                                       ? folded_tmm<T>(a2, g2)
                                       : sum_to(batched_matmul<T>(mT(a2), g2), input_shapes[1]);
                grads[1] = db2.reshape(input_shapes[1]);
            }
        });
        return grads;
    }
    void release_saved() override {
        a.release();
        b.release();
    }
    SavedTensor a, b;
    bool b_bf16 = false;  // b is a frozen bf16 weight [K, N] (it gets no gradient)
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
    GRAFT_PROFILE_SCOPE("matmul");
    const bool b_bf16 = detail::is_bf16_weight(a, b, "matmul");
    if (b_bf16 && b.dim() != 2)
        throw ShapeError("matmul: a bfloat16 right operand must be a 2-D weight [K, N], got " + shape_str(b.shape()) +
                         " (left operand " + shape_str(a.shape()) + ")");
    if (!b_bf16) detail::check_same_dtype(a, b, "matmul");
    Shape out_shape = matmul_batch_shape(a, b);
    if (a.dim() > 1) out_shape.push_back(a.size(-2));
    if (b.dim() > 1) out_shape.push_back(b.size(-1));
    Tensor out = b_bf16 ? detail::bf16_weight_matmul(a, b, /*transpose_w=*/false)
                        : detail::dispatch_floating(a.dtype(), "matmul", [&]<class T>() {
                              return batched_matmul<T>(as_row_matrix(a), as_column_matrix(b));
                          });
    out = out.view(out_shape);
    if (auto node = autograd::make_node<MatmulBackward>({&a, &b}, out)) {
        node->b_bf16 = b_bf16;
        if (node->needs_input_grad(0)) node->b = SavedTensor(b);
        if (node->needs_input_grad(1)) node->a = SavedTensor(a);
    }
    return out;
}

// ---- linear ------------------------------------------------------------------------------

namespace {

// out = x·wᵀ + bias, x [..., in], w [out, in], bias [out]
//   ⇒ dx = dout·w, dw = doutᵀ·x (leading dims of x folded into rows), dbias = Σ dout over leading dims
struct LinearBackward final : Node {
    const char* name() const override { return "LinearBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        std::vector<Tensor> grads(3);
        detail::dispatch_floating(g.dtype(), name(), [&]<class T>() {
            if (needs_input_grad(0) && w_bf16)
                grads[0] = detail::bf16_weight_matmul(g, w.unpack(name()), /*transpose_w=*/false)
                               .reshape(input_shapes[0]);
            else if (needs_input_grad(0))
                grads[0] = batched_matmul<T>(as_row_matrix(g), w.unpack(name())).reshape(input_shapes[0]);
            if (needs_input_grad(1)) grads[1] = folded_tmm<T>(g, x.unpack(name()));
        });
        if (needs_input_grad(2)) grads[2] = sum_to(g, input_shapes[2]);
        return grads;
    }
    void release_saved() override {
        x.release();
        w.release();
    }
    SavedTensor x, w;
    bool w_bf16 = false;  // w is a frozen bf16 weight (it gets no gradient)
};

void check_linear_args(const Tensor& x, const Tensor& w, const Tensor& b) {
    if (w.dim() != 2)
        throw ShapeError("linear: weight must be 2-D [out_features, in_features], got " + shape_str(w.shape()));
    if (x.dim() == 0) throw ShapeError("linear: input must have at least 1 dimension, got shape []");
    if (x.size(-1) != w.size(1))
        throw ShapeError("linear: input has " + std::to_string(x.size(-1)) + " features, layer expects " +
                         std::to_string(w.size(1)) + " (input " + shape_str(x.shape()) + ", weight " +
                         shape_str(w.shape()) + ")");
    if (b.defined() && (b.dim() != 1 || b.size(0) != w.size(0)))
        throw ShapeError("linear: bias has shape " + shape_str(b.shape()) + ", expected [" +
                         std::to_string(w.size(0)) + "] (weight " + shape_str(w.shape()) + ")");
    if (!detail::is_bf16_weight(x, w, "linear")) detail::check_same_dtype(x, w, "linear");
    if (b.defined()) detail::check_same_dtype(x, b, "linear");
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
    GRAFT_PROFILE_SCOPE("linear");
    check_linear_args(x, w, b);
    const bool w_bf16 = w.dtype() == DType::BFloat16;
    Shape out_shape = x.shape();
    out_shape.back() = w.size(0);
    Tensor out = w_bf16 ? detail::bf16_weight_matmul(x, w, /*transpose_w=*/true, b) : empty(out_shape, x.dtype());
    if (!w_bf16) detail::dispatch_floating(x.dtype(), "linear", [&]<class T>() {
        // the bias joins in the GEMM (float32: in its epilogue, while each tile of out is in registers)
        const Tensor bias = b.defined() ? b.detach().contiguous() : Tensor();
        const T* bias_ptr = b.defined() ? detail::storage_ptr<T>(bias) + bias.offset() : nullptr;
        const Tensor xm = as_row_matrix(x);
        if constexpr (std::is_same_v<T, float>) {
            const std::optional<std::int64_t> rs_x = folded_row_stride(xm);
            // A frozen weight keeps its packed panels from call to call (frozen_weight_pack.hpp).
            if (const auto packed = rs_x ? detail::frozen_weight_pack(w) : nullptr) {
                kernels::sgemm_packed(folded_rows(out), 1.f, detail::storage_ptr<T>(xm) + xm.offset(), *rs_x,
                                      xm.stride(-1), *packed, 0.f, out.data_ptr<T>(), w.size(0), 1,
                                      {bias_ptr, kernels::Activation::None});
                return;
            }
        }
        batched_gemm<T>(xm, mT(w.detach()), T(0), as_row_matrix(out), bias_ptr);
    });
    if (auto node = autograd::make_node<LinearBackward>({&x, &w, &b}, out)) {
        node->w_bf16 = w_bf16;
        if (node->needs_input_grad(0)) node->w = SavedTensor(w);
        if (node->needs_input_grad(1)) node->x = SavedTensor(x);
    }
    return out;
}

}  // namespace graft
