// Binary elementwise ops with broadcasting — add, sub, mul, div, maximum, minimum — each
// forward followed by its backward; then comparisons, logical ops, where and masked_fill.
// float32 add/sub/mul/div take kernels/vector's binary kernels when both operands are contiguous
// and the layout is one of three: same shape, one operand a single element, or one operand
// equal to the other's trailing dims (a row-vector bias); every other case, and add/sub with
// alpha ≠ 1 (computed in double), keeps the generic broadcast loop.
// A float32 operand with a float64 one is converted first (promoted_floats), as torch.result_type
// does; other dtype mismatches are DTypeErrors.
#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/elementwise.hpp"
#include "kernels/vector/vector.hpp"

namespace graft {

namespace detail {
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
    if (a.dtype() != b.dtype())
        throw DTypeError(std::string(op) + ": dtype mismatch, " + dtype_name(a.dtype()) + " " + shape_str(a.shape()) +
                         " vs " + dtype_name(b.dtype()) + " " + shape_str(b.shape()) + " (convert one with .to())");
}
}  // namespace detail

namespace {

/// Whether a and b are float32 and float64, in either order.
bool mixed_floats(const Tensor& a, const Tensor& b) {
    const auto f = [](DType t) { return t == DType::Float32 || t == DType::Float64; };
    return a.dtype() != b.dtype() && f(a.dtype()) && f(b.dtype());
}

/// A float32/float64 pair converted to torch.result_type's dtype: float64, except that a 0-d
/// operand does not promote one with dimensions (float32 [3] with a float64 0-d tensor gives
/// float32). The conversion is .to(), so gradients flow back in the operand's own dtype.
std::pair<Tensor, Tensor> promoted_floats(const Tensor& a, const Tensor& b) {
    const bool a0 = a.dim() == 0, b0 = b.dim() == 0;
    const DType target = a0 == b0 ? DType::Float64 : (a0 ? b.dtype() : a.dtype());
    return {a.dtype() == target ? a : a.to(target), b.dtype() == target ? b : b.to(target)};
}

/// Same-dtype numeric broadcast map producing the operands' dtype.
template <class F>
Tensor arith(const Tensor& a, const Tensor& b, const char* op, F&& f) {
    detail::check_same_dtype(a, b, op);
    return detail::dispatch_numeric(a.dtype(), op, [&]<class T>() {
        return detail::binary_map<T, T>(a, b, op, [&](T x, T y) { return static_cast<T>(f(x, y)); });
    });
}

/// Whether `small`, without its leading 1s, equals the trailing dims of `big`.
bool is_trailing_block(const Shape& small, const Shape& big) {
    const auto first = std::find_if(small.begin(), small.end(), [](std::int64_t d) { return d != 1; });
    const auto dims = small.end() - first;
    return dims <= static_cast<std::ptrdiff_t>(big.size()) && std::equal(first, small.end(), big.end() - dims);
}

/// a op b through the float32 binary kernels, when the layout is a fast path (see the top).
std::optional<Tensor> f32_fast_path(const Tensor& a, const Tensor& b, kernels::BinaryOp op, const char* name) {
    if (a.dtype() != DType::Float32 || b.dtype() != DType::Float32 || !a.is_contiguous() || !b.is_contiguous())
        return std::nullopt;
    const Shape shape = detail::broadcast_shapes(a.shape(), b.shape(), name);
    if (shape_numel(shape) == 0) return std::nullopt;
    Tensor out = empty(shape, DType::Float32);
    if (!detail::binary_f32_into(a, b, op, out)) return std::nullopt;
    return out;
}

/// The fast path when it applies, else the generic arith loop.
template <class F>
Tensor arith_f32_fast(const Tensor& a, const Tensor& b, kernels::BinaryOp op, const char* name, F&& f) {
    detail::check_same_dtype(a, b, name);
    if (std::optional<Tensor> out = f32_fast_path(a, b, op, name)) return std::move(*out);
    return arith(a, b, name, std::forward<F>(f));
}

// ---- add / sub ------------------------------------------------------------------
// out = a + alpha·b  ⇒  da = sum_to(dout, a.shape), db = alpha · sum_to(dout, b.shape)
struct AddBackward final : Node {
    explicit AddBackward(double al) : alpha(al) {}
    const char* name() const override { return "AddBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        std::vector<Tensor> out(2);
        if (needs_input_grad(0)) out[0] = sum_to(g, input_shapes[0]);
        if (needs_input_grad(1)) out[1] = sum_to(alpha == 1.0 ? g : mul(g, alpha), input_shapes[1]);
        return out;
    }
    double alpha;
};

// ---- mul ------------------------------------------------------------------------
// out = a · b  ⇒  da = sum_to(dout · b), db = sum_to(dout · a)
struct MulBackward final : Node {
    const char* name() const override { return "MulBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        std::vector<Tensor> out(2);
        if (needs_input_grad(0)) out[0] = sum_to(mul(g, b.unpack(name())), input_shapes[0]);
        if (needs_input_grad(1)) out[1] = sum_to(mul(g, a.unpack(name())), input_shapes[1]);
        return out;
    }
    void release_saved() override {
        a.release();
        b.release();
    }
    SavedTensor a, b;
};

// ---- div ------------------------------------------------------------------------
// out = a / b  ⇒  da = sum_to(dout / b), db = −sum_to(dout · a / b²)
struct DivBackward final : Node {
    const char* name() const override { return "DivBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        std::vector<Tensor> out(2);
        const Tensor bv = b.unpack(name());
        if (needs_input_grad(0)) out[0] = sum_to(div(g, bv), input_shapes[0]);
        if (needs_input_grad(1)) out[1] = sum_to(neg(div(mul(g, a.unpack(name())), mul(bv, bv))), input_shapes[1]);
        return out;
    }
    void release_saved() override {
        a.release();
        b.release();
    }
    SavedTensor a, b;
};

// ---- maximum / minimum --------------------------------------------------------------
// out = max(a, b)  ⇒  the gradient goes to the larger operand; ties split it in half
struct MinMaxBackward final : Node {
    explicit MinMaxBackward(bool is_max) : maximum(is_max) {}
    const char* name() const override { return maximum ? "MaximumBackward" : "MinimumBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor av = a.unpack(name()), bv = b.unpack(name());
        // weight of a: 1 where a wins, 0.5 on ties, 0 where b wins
        Tensor wa = detail::dispatch_floating(av.dtype(), name(), [&]<class T>() {
            return detail::binary_map<T, T>(av, bv, name(), [&](T x, T y) {
                if (x == y) return T(0.5);
                return (maximum ? x > y : x < y) ? T(1) : T(0);
            });
        });
        std::vector<Tensor> out(2);
        if (needs_input_grad(0)) out[0] = sum_to(mul(g, wa), input_shapes[0]);
        if (needs_input_grad(1)) out[1] = sum_to(mul(g, rsub(wa, 1.0)), input_shapes[1]);
        return out;
    }
    void release_saved() override {
        a.release();
        b.release();
    }
    bool maximum;
    SavedTensor a, b;
};

Tensor minmax(const Tensor& a, const Tensor& b, bool is_max) {
    if (mixed_floats(a, b)) {
        const auto [pa, pb] = promoted_floats(a, b);
        return minmax(pa, pb, is_max);
    }
    GRAFT_PROFILE_SCOPE((is_max ? "maximum" : "minimum"));
    const char* op = is_max ? "maximum" : "minimum";
    Tensor out = arith(a, b, op, [&](auto x, auto y) {
        if (x != x) return x;  // NaN propagates
        if (y != y) return y;
        return is_max ? (x > y ? x : y) : (x < y ? x : y);
    });
    if (auto node = autograd::make_node<MinMaxBackward>({&a, &b}, out, is_max)) {
        node->a = SavedTensor(a);
        node->b = SavedTensor(b);
    }
    return out;
}

}  // namespace

namespace detail {

bool binary_f32_into(const Tensor& a, const Tensor& b, kernels::BinaryOp op, const Tensor& out) {
    if (a.dtype() != DType::Float32 || b.dtype() != DType::Float32 || out.dtype() != DType::Float32 ||
        !a.is_contiguous() || !b.is_contiguous() || !out.is_contiguous())
        return false;
    const std::int64_t total = out.numel(), na = a.numel(), nb = b.numel();
    if (total == 0) return false;
    const float* pa = a.data_ptr<float>();
    const float* pb = b.data_ptr<float>();
    float* po = out.data_ptr<float>();
    if (na == total && nb == total) {
        kernels::binary(op, total, pa, pb, po);
        return true;
    }
    if (nb == 1 || na == 1) {
        const bool scalar_first = nb != 1;  // the other one has every element
        kernels::binary_scalar(op, total, scalar_first ? pb : pa, scalar_first ? *pa : *pb, scalar_first, po);
        return true;
    }
    if (na == total && is_trailing_block(b.shape(), a.shape())) {
        kernels::binary_rows(op, total / nb, nb, pa, nb, pb, 0, po);
        return true;
    }
    if (nb == total && is_trailing_block(a.shape(), b.shape())) {
        kernels::binary_rows(op, total / na, na, pa, 0, pb, na, po);
        return true;
    }
    return false;
}

}  // namespace detail

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
    if (mixed_floats(a, b)) {
        const auto [pa, pb] = promoted_floats(a, b);
        return add(pa, pb, alpha);
    }
    GRAFT_PROFILE_SCOPE("add");
    Tensor out = alpha == 1.0 ? arith_f32_fast(a, b, kernels::BinaryOp::Add, "add", [](auto x, auto y) { return x + y; })
                              : arith(a, b, "add", [alpha](auto x, auto y) { return x + alpha * y; });
    autograd::make_node<AddBackward>({&a, &b}, out, alpha);
    return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
    if (mixed_floats(a, b)) {
        const auto [pa, pb] = promoted_floats(a, b);
        return sub(pa, pb, alpha);
    }
    GRAFT_PROFILE_SCOPE("sub");
    Tensor out = alpha == 1.0 ? arith_f32_fast(a, b, kernels::BinaryOp::Sub, "sub", [](auto x, auto y) { return x - y; })
                              : arith(a, b, "sub", [alpha](auto x, auto y) { return x - alpha * y; });
    autograd::make_node<AddBackward>({&a, &b}, out, -alpha);
    return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
    if (mixed_floats(a, b)) {
        const auto [pa, pb] = promoted_floats(a, b);
        return mul(pa, pb);
    }
    GRAFT_PROFILE_SCOPE("mul");
    Tensor out = arith_f32_fast(a, b, kernels::BinaryOp::Mul, "mul", [](auto x, auto y) { return x * y; });
    if (auto node = autograd::make_node<MulBackward>({&a, &b}, out)) {
        if (node->needs_input_grad(0)) node->b = SavedTensor(b);
        if (node->needs_input_grad(1)) node->a = SavedTensor(a);
    }
    return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
    if (mixed_floats(a, b)) {
        const auto [pa, pb] = promoted_floats(a, b);
        return div(pa, pb);
    }
    GRAFT_PROFILE_SCOPE("div");
    Tensor out = arith_f32_fast(a, b, kernels::BinaryOp::Div, "div", [](auto x, auto y) {
        if constexpr (std::is_integral_v<decltype(y)>) {
            if (y == 0) throw ValueError("div: integer division by zero");
        }
        return x / y;
    });
    if (auto node = autograd::make_node<DivBackward>({&a, &b}, out)) {
        node->b = SavedTensor(b);
        if (node->needs_input_grad(1)) node->a = SavedTensor(a);
    }
    return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) { return minmax(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return minmax(a, b, false); }

Tensor add(const Tensor& a, double b) { return add(a, scalar_tensor(b, a.dtype())); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_tensor(b, a.dtype())); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_tensor(b, a.dtype())); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_tensor(b, a.dtype())); }
Tensor rsub(const Tensor& a, double b) { return sub(scalar_tensor(b, a.dtype()), a); }
Tensor rdiv(const Tensor& a, double b) { return div(scalar_tensor(b, a.dtype()), a); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return rsub(b, a); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return rdiv(b, a); }
Tensor operator-(const Tensor& a) { return neg(a); }

// ---- comparisons and logic (no gradient) ----------------------------------------------

namespace {
template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, F&& f) {
    if (mixed_floats(a, b)) {
        const auto [pa, pb] = promoted_floats(a, b);
        return compare(pa, pb, op, std::forward<F>(f));
    }
    GRAFT_PROFILE_SCOPE(op);
    detail::check_same_dtype(a, b, op);
    if (a.dtype() == DType::Bool)
        return detail::binary_map<bool, bool>(a, b, op, [&](bool x, bool y) { return f(x, y); });
    return detail::dispatch_numeric(a.dtype(), op, [&]<class T>() {
        return detail::binary_map<bool, T>(a, b, op, [&](T x, T y) { return static_cast<bool>(f(x, y)); });
    });
}
Tensor scalar_like(const Tensor& a, double v) { return scalar_tensor(v, a.dtype()); }
}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", [](auto x, auto y) { return x == y; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", [](auto x, auto y) { return x != y; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", [](auto x, auto y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", [](auto x, auto y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", [](auto x, auto y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", [](auto x, auto y) { return x >= y; }); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_like(a, b)); }
Tensor ne(const Tensor& a, double b) { return ne(a, scalar_like(a, b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(a, b)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_like(a, b)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(a, b)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_like(a, b)); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
    a.check_dtype(DType::Bool, "logical_and");
    b.check_dtype(DType::Bool, "logical_and");
    return detail::binary_map<bool, bool>(a, b, "logical_and", [](bool x, bool y) { return x && y; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
    a.check_dtype(DType::Bool, "logical_or");
    b.check_dtype(DType::Bool, "logical_or");
    return detail::binary_map<bool, bool>(a, b, "logical_or", [](bool x, bool y) { return x || y; });
}
Tensor logical_not(const Tensor& a) {
    a.check_dtype(DType::Bool, "logical_not");
    return detail::unary_map<bool, bool>(a, [](bool x) { return !x; });
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
    NoGradGuard guard;
    const Tensor x = a.to(DType::Float64), y = b.to(DType::Float64);
    Tensor ok = detail::binary_map<bool, double>(x, y, "allclose", [&](double p, double q) {
        if (std::isnan(p) || std::isnan(q)) return false;
        if (p == q) return true;  // equal infinities
        return std::abs(p - q) <= atol + rtol * std::abs(q);
    });
    for (bool v : ok.to_vector<bool>())
        if (!v) return false;
    return true;
}

// ---- where / masked_fill ---------------------------------------------------------------

namespace {
// out = cond ? a : b  ⇒  da = sum_to(where(cond, dout, 0)), db = sum_to(where(cond, 0, dout))
struct WhereBackward final : Node {
    const char* name() const override { return "WhereBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor c = cond.unpack(name());
        const Tensor zero = scalar_tensor(0.0, g.dtype());
        std::vector<Tensor> out(3);
        if (needs_input_grad(1)) out[1] = sum_to(where(c, g, zero), input_shapes[1]);
        if (needs_input_grad(2)) out[2] = sum_to(where(c, zero, g), input_shapes[2]);
        return out;
    }
    void release_saved() override { cond.release(); }
    SavedTensor cond;
};
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    GRAFT_PROFILE_SCOPE("where");
    cond.check_dtype(DType::Bool, "where (condition)");
    detail::check_same_dtype(a, b, "where");
    const Shape shape = detail::broadcast_shapes(detail::broadcast_shapes(cond.shape(), a.shape(), "where"),
                                                 b.shape(), "where");
    Tensor out = detail::dispatch_all(a.dtype(), [&]<class T>() {
        Tensor o = empty(shape, a.dtype());
        T* po = o.data_ptr<T>();
        const bool* pc = detail::storage_ptr<bool>(cond);
        const T* pa = detail::storage_ptr<T>(a);
        const T* pb = detail::storage_ptr<T>(b);
        const std::array<Shape, 4> st{o.strides(), detail::broadcast_strides(cond, shape),
                                      detail::broadcast_strides(a, shape), detail::broadcast_strides(b, shape)};
        detail::for_each_row<4>(shape, st, {0, cond.offset(), a.offset(), b.offset()},
                                [&](auto off, std::int64_t n, auto in) {
                                    for (std::int64_t i = 0; i < n; ++i)
                                        po[off[0] + i * in[0]] = pc[off[1] + i * in[1]] ? pa[off[2] + i * in[2]]
                                                                                        : pb[off[3] + i * in[3]];
                                });
        return o;
    });
    if (auto node = autograd::make_node<WhereBackward>({&cond, &a, &b}, out)) node->cond = SavedTensor(cond);
    return out;
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
    GRAFT_PROFILE_SCOPE("masked_fill");
    mask.check_dtype(DType::Bool, "masked_fill (mask)");
    if (detail::broadcast_shapes(a.shape(), mask.shape(), "masked_fill") != a.shape())
        throw ShapeError("masked_fill: mask of shape " + shape_str(mask.shape()) + " does not broadcast to input " +
                         shape_str(a.shape()));
    return where(mask, scalar_tensor(value, a.dtype()), a);
}

}  // namespace graft
