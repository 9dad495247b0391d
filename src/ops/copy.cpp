// The differentiable copies and conversions (clone, contiguous, to, copy_) and the in-place
// ops with their guards: no in-place write to a leaf that requires grad, to a tensor saved
// for a backward (while recording), or to read-only storage. The raw element copy they use is
// core's detail::copy_elements.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/elementwise.hpp"

namespace graft {


namespace {

// y = x.clone() (or x.contiguous())  ⇒  dx = dy
struct CloneBackward final : Node {
    const char* name() const override { return "CloneBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {g}; }
};

// y = x.to(dtype)  ⇒  dx = dy.to(x.dtype)
struct ToBackward final : Node {
    const char* name() const override { return "ToBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {g.to(input_dtypes[0])}; }
};

// self.copy_(src)  ⇒  dsrc = sum_to(dy, src.shape)
struct CopyBackward final : Node {
    const char* name() const override { return "CopyBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        return {Tensor(), sum_to(g, input_shapes[1]).to(input_dtypes[1])};
    }
};

/// The checks every in-place op makes before writing into `self`.
void check_inplace(const Tensor& self, const char* op) {
    if (!self.storage()->writable())
        throw ValueError(std::string(op) + ": tensor of shape " + shape_str(self.shape()) +
                         " is read-only (it views a memory-mapped file); clone() it first");
    if (!GradMode::is_enabled()) return;
    if (self.requires_grad() && self.is_leaf())
        throw AutogradError(std::string(op) + ": a leaf tensor that requires grad (shape " + shape_str(self.shape()) +
                            ") cannot be modified in place while recording; use NoGradGuard (as optimizers do) "
                            "or an out-of-place op");
    if (self.storage()->saved_refs() > 0)
        throw AutogradError(std::string(op) + ": tensor of shape " + shape_str(self.shape()) +
                            " is saved for a backward and cannot be modified in place; clone() it first");
}

/// Runs `compute(self_value)` out of place and writes the result into self. While recording,
/// self's history is rebased onto the new node (self must not be a view of a tensor with history).
template <class F>
Tensor& apply_inplace(Tensor& self, const char* op, bool records, F&& compute) {
    check_inplace(self, op);
    if (!records) {
        Tensor result;
        {
            NoGradGuard guard;
            result = compute(self);
        }
        if (result.shape() != self.shape())
            throw ShapeError(std::string(op) + ": result shape " + shape_str(result.shape()) +
                             " differs from the in-place target's shape " + shape_str(self.shape()));
        detail::copy_elements(self, result, op);
        self.storage()->bump_version();
        return self;
    }
    if (self.impl().autograd && self.impl().autograd->is_view)
        throw AutogradError(std::string(op) + ": in-place operation on a view of a tensor that requires grad (shape " +
                            shape_str(self.shape()) + ") is not supported; clone() the view first");
    Tensor result = compute(self.clone());
    if (result.shape() != self.shape())
        throw ShapeError(std::string(op) + ": result shape " + shape_str(result.shape()) +
                         " differs from the in-place target's shape " + shape_str(self.shape()));
    detail::copy_elements(self, result, op);
    self.storage()->bump_version();
    AutogradMeta& meta = self.impl().meta();
    meta.requires_grad = result.requires_grad();
    meta.grad_fn = result.grad_fn();
    return self;
}

bool recording(const Tensor& a, const Tensor* b = nullptr) {
    return autograd::any_requires_grad({&a, b});
}

/// self op= other row by row, for a strided self (a slice of a larger tensor) and an other of
/// self's shape that shares no memory with it: the float32 binary kernel on each row both
/// operands hold contiguously (one element at a time otherwise), rows spread over the threads.
void inplace_f32_rows(Tensor& self, const Tensor& other, kernels::BinaryOp op) {
    float* d = detail::storage_ptr<float>(self);
    const float* s = detail::storage_ptr<float>(other);
    detail::parallel_for_each_row<2>(self.shape(), {self.strides(), other.strides()}, {self.offset(), other.offset()},
                            [&](auto off, std::int64_t n, auto inner) {
                                float* dp = d + off[0];
                                const float* sp = s + off[1];
                                if (inner[0] == 1 && inner[1] == 1) {
                                    kernels::binary(op, n, dp, sp, dp);
                                    return;
                                }
                                for (std::int64_t i = 0; i < n; ++i) {
                                    float& x = dp[i * inner[0]];
                                    const float y = sp[i * inner[1]];
                                    switch (op) {
                                        case kernels::BinaryOp::Add: x = x + y; break;
                                        case kernels::BinaryOp::Sub: x = x - y; break;
                                        case kernels::BinaryOp::Mul: x = x * y; break;
                                        case kernels::BinaryOp::Div: x = x / y; break;
                                    }
                                }
                            });
}

/// self op= other straight into self's memory through the float32 vector kernels, when nothing
/// is recorded, the layout is one of their fast paths (or self is strided and other of its
/// shape, in no shared memory) and other does not partly overlap self. Returns false, having
/// done nothing, otherwise (the caller takes the general path).
bool inplace_f32(Tensor& self, const Tensor& other, kernels::BinaryOp op, const char* name) {
    if (recording(self, &other) || self.dtype() != DType::Float32 || other.dtype() != DType::Float32 ||
        self.numel() == 0)
        return false;
    if (!self.is_contiguous()) {
        if (self.shares_storage(other) || other.shape() != self.shape()) return false;
        check_inplace(self, name);
        inplace_f32_rows(self, other, op);
        self.storage()->bump_version();
        return true;
    }
    if (self.shares_storage(other) && !(other.data_ptr<float>() == self.data_ptr<float>() && other.shape() == self.shape()))
        return false;
    if (detail::broadcast_shapes(self.shape(), other.shape(), name) != self.shape()) return false;
    check_inplace(self, name);
    if (!detail::binary_f32_into(self, other, op, self)) return false;
    self.storage()->bump_version();
    return true;
}

}  // namespace

Tensor Tensor::clone() const {
    GRAFT_PROFILE_SCOPE("clone");
    Tensor out = empty(shape(), dtype());
    detail::copy_elements(out, *this, "clone");
    autograd::make_node<CloneBackward>({this}, out);
    return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::to(DType target) const {
    GRAFT_PROFILE_SCOPE("to");
    if (target == dtype()) return *this;
    Tensor out = empty(shape(), target);
    detail::copy_elements(out, *this, "to");
    if (is_floating(target) && is_floating(dtype())) autograd::make_node<ToBackward>({this}, out);
    return out;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
    if (alpha == 1.0 && inplace_f32(*this, other, kernels::BinaryOp::Add, "add_")) return *this;
    return apply_inplace(*this, "add_", recording(*this, &other),
                         [&](const Tensor& s) { return graft::add(s, other, alpha); });
}
Tensor& Tensor::add_(double value) {
    return apply_inplace(*this, "add_", recording(*this), [&](const Tensor& s) { return graft::add(s, value); });
}
Tensor& Tensor::sub_(const Tensor& other, double alpha) {
    if (alpha == 1.0 && inplace_f32(*this, other, kernels::BinaryOp::Sub, "sub_")) return *this;
    return apply_inplace(*this, "sub_", recording(*this, &other),
                         [&](const Tensor& s) { return graft::sub(s, other, alpha); });
}
Tensor& Tensor::mul_(const Tensor& other) {
    if (inplace_f32(*this, other, kernels::BinaryOp::Mul, "mul_")) return *this;
    return apply_inplace(*this, "mul_", recording(*this, &other),
                         [&](const Tensor& s) { return graft::mul(s, other); });
}
Tensor& Tensor::mul_(double value) {
    return apply_inplace(*this, "mul_", recording(*this), [&](const Tensor& s) { return graft::mul(s, value); });
}
Tensor& Tensor::div_(const Tensor& other) {
    if (inplace_f32(*this, other, kernels::BinaryOp::Div, "div_")) return *this;
    return apply_inplace(*this, "div_", recording(*this, &other),
                         [&](const Tensor& s) { return graft::div(s, other); });
}

Tensor& Tensor::fill_(double value) {
    check_inplace(*this, "fill_");
    // A value an integer tensor cannot hold is refused here, under this op's name.
    detail::dispatch_all(dtype(), [&]<class T>() { (void)detail::convert_checked<T>(value, DType::Float64, "fill_"); });
    detail::copy_elements(*this, scalar_tensor(value, dtype()), "fill_");
    storage()->bump_version();
    // The old value no longer matters: cut the history of a non-leaf.
    if (impl().autograd && impl().autograd->grad_fn) {
        impl().autograd->grad_fn = nullptr;
        impl().autograd->requires_grad = false;
    }
    return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& src) {
    GRAFT_PROFILE_SCOPE("copy_");
    check_inplace(*this, "copy_");
    const bool records = GradMode::is_enabled() && src.requires_grad() && is_floating(dtype());
    if (records && impl().autograd && impl().autograd->is_view)
        throw AutogradError("copy_: copying a tensor that requires grad into a view of a tensor with history is "
                            "not supported; clone() the view first");
    detail::copy_elements(*this, src, "copy_");
    storage()->bump_version();
    if (records) {
        Tensor self = *this;
        auto node = std::make_shared<CopyBackward>();
        // Input 0 is the overwritten value (no gradient); input 1 is src.
        Tensor detached_self = detach();
        autograd::record(node, {&detached_self, &src}, self);
    } else if (impl().autograd && impl().autograd->grad_fn && GradMode::is_enabled()) {
        impl().autograd->grad_fn = nullptr;
        impl().autograd->requires_grad = false;
    }
    return *this;
}

}  // namespace graft
