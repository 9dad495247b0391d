// add_relu: relu(a + b) as one op, the join of a residual block (ResNet's BasicBlock and
// Bottleneck end in relu(branch + shortcut)). The ReLU runs in place over the sum, so the join
// allocates one tensor instead of two, and the backward is one masked pass whose result goes to
// both operands (reduced to each one's shape when they broadcast).
#include "graft/functional/add_relu.hpp"

#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::nn::functional {

namespace {

// out = relu(a + b)  ⇒  dz = dout · [out > 0], da = sum_to(dz, a.shape), db = sum_to(dz, b.shape)
struct AddReluBackward final : Node {
    const char* name() const override { return "AddReluBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor y = out.unpack(name());
        Tensor dz;
        if (y.dtype() == DType::Float32 && y.is_contiguous() && g.dtype() == DType::Float32 && g.shape() == y.shape()) {
            const Tensor gc = g.contiguous();
            dz = empty(y.shape(), DType::Float32);
            kernels::unary_grad(kernels::UnaryOp::Relu, y.numel(), y.data_ptr<float>(), gc.data_ptr<float>(),
                                dz.data_ptr<float>());
        } else {
            dz = mul(g, gt(y, 0.0).to(y.dtype()));
        }
        std::vector<Tensor> grads(2);
        if (needs_input_grad(0)) grads[0] = sum_to(dz, input_shapes[0]);
        if (needs_input_grad(1)) grads[1] = sum_to(dz, input_shapes[1]);
        return grads;
    }
    void release_saved() override { out.release(); }
    SavedTensor out;
};

}  // namespace

Tensor add_relu(const Tensor& a, const Tensor& b) {
    // Mixed float32/float64 operands promote in add, whose node returns each gradient in its
    // operand's dtype; they take the two ops.
    if (a.dtype() != b.dtype() || !is_floating(a.dtype())) return relu(add(a, b));
    GRAFT_PROFILE_SCOPE("add_relu");
    Tensor out;
    {
        NoGradGuard guard;
        out = add(a, b);  // a fresh tensor: broadcasting, checks and error messages are add's
        if (out.dtype() == DType::Float32 && out.is_contiguous())
            kernels::unary(kernels::UnaryOp::Relu, out.numel(), out.data_ptr<float>(), out.data_ptr<float>());
        else
            out = relu(out);
    }
    if (auto node = autograd::make_node<AddReluBackward>({&a, &b}, out)) node->out = SavedTensor(out);
    return out;
}

}  // namespace graft::nn::functional
