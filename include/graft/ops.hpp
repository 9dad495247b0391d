// graft/ops.hpp — the differentiable tensor ops (free functions, PyTorch names).
//
//   auto y = relu(add(matmul(x, w.t()), b));   // or: relu(matmul(x, w.t()) + b)
//   auto p = softmax(y, /*dim=*/-1);
//   auto [vals, idx] = max(y, /*dim=*/1);
//
// Binary elementwise ops broadcast with NumPy rules. Both operands must share a dtype, except
// float32 with float64, which gives torch.result_type's dtype (float64, or the dimensioned
// operand's when the other is 0-d); a C++ scalar takes the tensor's dtype. Reference: docs/ops.md. Every op that receives an input requiring grad
// records a node whose backward computes only the gradients that are needed.
// Losses (cross_entropy, mse_loss, …) live in graft/functional.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "graft/tensor.hpp"

namespace graft {

class Generator;

// ---- elementwise binary (broadcasting) ------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a + alpha·b
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a − alpha·b
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
/// b − a, b / a (scalar on the left).
Tensor rsub(const Tensor& a, double b);
Tensor rdiv(const Tensor& a, double b);
/// Elementwise max/min of two tensors (gradient goes to the larger/smaller; ties split evenly).
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& a);

// ---- comparisons (bool result, no gradient) --------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
/// Logical ops on bool tensors.
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
/// True where |a − b| ≤ atol + rtol·|b| everywhere (shapes broadcast).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

// ---- selection ------------------------------------------------------------------------
/// cond ? a : b, broadcasting all three; cond is bool.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// a with `value` where mask (bool, broadcast to a) is true.
Tensor masked_fill(const Tensor& a, const Tensor& mask, double value);

// ---- elementwise unary ------------------------------------------------------------------
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
/// x^exponent (scalar exponent).
Tensor pow(const Tensor& x, double exponent);
/// Limits to [min, max]; either bound may be absent. Gradient 1 inside, 0 outside.
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// Limits to [min_val, max_val] like clamp, but with PyTorch's hardtanh gradient: 1 strictly
/// inside, 0 at and beyond the bounds. ValueError when min_val > max_val.
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// hardtanh(x, 0, 6) (MobileNetV2's activation).
Tensor relu6(const Tensor& x);
Tensor sigmoid(const Tensor& x);
/// relu6(x + 3) / 6, the piecewise-linear sigmoid of MobileNetV3.
Tensor hardsigmoid(const Tensor& x);
/// x · relu6(x + 3) / 6, the piecewise-linear SiLU of MobileNetV3.
Tensor hardswish(const Tensor& x);
Tensor tanh(const Tensor& x);
/// GELU; approximate = "none" (erf form) or "tanh".
enum class GeluApprox { None, Tanh };
Tensor gelu(const Tensor& x, GeluApprox approximate = GeluApprox::None);
Tensor silu(const Tensor& x);

// ---- reductions ---------------------------------------------------------------------------
/// Sum of all elements (0-d result).
Tensor sum(const Tensor& x);
/// Sum over `dims` (empty: all); keepdim keeps them as size 1.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
/// Variance / standard deviation over `dims` (empty: all); correction 1 = unbiased (PyTorch default).
Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1,
           bool keepdim = false);
Tensor std(const Tensor& x, const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1,
           bool keepdim = false);
/// Largest / smallest element (0-d).
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
/// Values and int64 indices of the max/min along dim (first occurrence wins ties).
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Index of the max along dim (int64), or of the flattened tensor without dim.
Tensor argmax(const Tensor& x, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false);
/// Sums a broadcast gradient back down to `shape` (the reverse of expand).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- linear algebra -----------------------------------------------------------------------
/// Matrix product with PyTorch's rules: 1-D·1-D dot, 2-D·2-D, batched N-D with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x·wᵀ + b, with w of shape [out, in] and optional bias b of shape [out]; x is [..., in].
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

// ---- softmax --------------------------------------------------------------------------------
Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);
/// log Σ exp(x) over `dims` (all when empty), computed stably; −inf for an all −inf (or empty) slice.
Tensor logsumexp(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);

// ---- scans and ordering ------------------------------------------------------------------------
/// Cumulative sum along dim (accumulated in double for floats); integer inputs give int64.
Tensor cumsum(const Tensor& x, std::int64_t dim);
/// torch.sort: (values, int64 indices) along dim, ascending or descending. Always stable (equal
/// values keep their order, so `stable` is accepted for PyTorch's signature); NaN sorts as the
/// largest value. values' gradient goes back to the elements they came from.
std::pair<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim = -1, bool descending = false, bool stable = false);
/// torch.topk: the k largest (or smallest) elements along dim and their int64 indices, in sorted
/// order (also when `sorted` is false, which PyTorch leaves unspecified); ties keep index order.
/// ValueError for k outside [0, x.size(dim)].
std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true,
                               bool sorted = true);

// ---- indexing and joining ---------------------------------------------------------------------
/// Rows (along dim) picked by an int64/int32 index vector.
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
/// weight[indices] for integer indices of any shape: result [*indices.shape, dim].
/// Rows equal to padding_idx get no gradient. Backward scatter-adds into the weight's rows.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx = std::nullopt);
/// torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (likewise for any dim); out has
/// index's shape. index (int64/int32) has x's number of dims, index.size(d) ≤ x.size(d) for d ≠ dim,
/// values in [0, x.size(dim)) (IndexError naming the position otherwise). Any dtype; the gradient
/// scatter-adds into x's shape.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
/// Tensor.scatter (out of place): a copy of x with x[i][index[i][j][k]][k] = src[i][j][k] (dim 1)
/// for every position of index; index.size(d) ≤ src.size(d) for every d and ≤ x.size(d) for d ≠ dim.
/// With duplicate indices the last write wins. Gradients: x's at the written positions is 0, src's
/// is dout gathered at them.
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// Tensor.scatter with a scalar: the named positions set to `value`.
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, double value);
/// Tensor.scatter_add (out of place): as scatter, but src's elements are added (duplicates accumulate).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// Tensor.index_add (out of place): a copy of x with alpha·src's slice j along dim added to slice
/// index[j]; index is 1-D, src has x's shape with dim of index's length; float32/float64.
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, double alpha = 1.0);
/// torch.nn.functional.one_hot: int64 [*indices.shape, num_classes] with a 1 at each index;
/// num_classes −1 infers max(indices) + 1. IndexError for an index outside [0, num_classes).
Tensor one_hot(const Tensor& indices, std::int64_t num_classes = -1);
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Pieces of `split_size` along dim (the last may be smaller). Views of x.
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
/// Pieces with the given sizes along dim (must add up to x.size(dim)).
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0);
/// `chunks` nearly equal pieces along dim (like torch.chunk).
std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
/// x tiled repeats[i] times along dimension i, like torch.Tensor.repeat: repeats needs an entry per
/// dimension of x and may have more, which add leading dimensions ([2, 3] with {4, 1, 2} gives
/// [4, 2, 6]). A copy; its gradient sums the tiles.
Tensor repeat(const Tensor& x, const std::vector<std::int64_t>& repeats);

// ---- regularisation ----------------------------------------------------------------------------
/// Zeroes each element with probability p and scales the rest by 1/(1−p) when training;
/// identity otherwise. Uses `gen` or the default generator.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);
/// Which elements stochastic_depth drops together: each sample of the batch (Row: one draw per
/// index of dim 0) or the whole batch (Batch: one draw).
enum class StochasticDepthMode { Row, Batch };
/// torchvision.ops.stochastic_depth: in training, zeroes each row (or the whole batch) of x with
/// probability p and scales the kept ones by 1/(1 − p); the identity when not training or p = 0
/// (p = 1 gives zeros). Draws from gen (default generator when null). ValueError unless 0 ≤ p ≤ 1.
Tensor stochastic_depth(const Tensor& x, double p, StochasticDepthMode mode, bool training, Generator* gen = nullptr);

}  // namespace graft
