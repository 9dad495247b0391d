// The Tensor members that need the autograd engine or the Node type: requires_grad_,
// retain_grad, backward, and printing (which names the grad_fn).
#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"

namespace graft {

Tensor& Tensor::requires_grad_(bool enabled) {
    if (enabled && !is_floating(dtype()))
        throw DTypeError(std::string("requires_grad_: only floating-point tensors can require grad, got ") +
                         dtype_name(dtype()));
    if (!is_leaf())
        throw AutogradError("requires_grad_: can only change the flag of a leaf tensor; this one was produced by " +
                            std::string(grad_fn()->name()) + " (use detach() to make a new leaf)");
    impl().meta().requires_grad = enabled;
    return *this;
}

void Tensor::retain_grad() {
    if (!requires_grad()) throw AutogradError("retain_grad: tensor does not require grad");
    if (is_leaf()) return;  // leaves keep their grad anyway
    impl().meta().retains_grad = true;
    grad_fn()->retained_output = impl_ptr();
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
    run_backward({*this}, {gradient}, retain_graph);
}

// ---- printing --------------------------------------------------------------------

std::string Tensor::to_string(std::int64_t max_values) const {
    if (!defined()) return "Tensor(undefined)";
    std::ostringstream os;
    os << "Tensor(shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype());
    if (requires_grad()) os << ", requires_grad=true";
    if (grad_fn()) os << ", grad_fn=" << grad_fn()->name();
    os << ")\n[";
    const std::int64_t n = numel();
    const std::int64_t shown = std::min(n, max_values);
    const std::vector<double> vals = detail::leading_values(*this, shown);
    os << std::setprecision(6);
    for (std::int64_t i = 0; i < shown; ++i) {
        if (i) os << ", ";
        if (dtype() == DType::Bool)
            os << (vals[static_cast<std::size_t>(i)] != 0 ? "true" : "false");
        else
            os << vals[static_cast<std::size_t>(i)];
    }
    if (shown < n) os << ", … (" << n << " values)";
    os << "]";
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace graft
