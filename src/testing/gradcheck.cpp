// Finite-difference gradient checking (central differences, float64).
#include "graft/testing/gradcheck.hpp"

#include <cmath>
#include <sstream>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/random.hpp"

namespace graft::testing {

namespace {

/// Element offsets (in storage elements) of every element of t, in row-major order.
std::vector<std::int64_t> element_offsets(const Tensor& t) {
    std::vector<std::int64_t> offs;
    offs.reserve(static_cast<std::size_t>(t.numel()));
    detail::for_each_row<1>(t.shape(), {t.strides()}, {t.offset()}, [&](auto off, std::int64_t n, auto inner) {
        for (std::int64_t i = 0; i < n; ++i) offs.push_back(off[0] + i * inner[0]);
    });
    return offs;
}

double projected(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const Tensor& r) {
    NoGradGuard guard;
    Tensor out = fn(inputs);
    return sum(mul(out.to(DType::Float64), r)).item();
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    GradcheckResult result;
    for (const Tensor& t : inputs)
        if (t.defined() && t.requires_grad() && t.dtype() != DType::Float64)
            throw DTypeError("gradcheck: inputs that require grad must be float64, got " +
                             std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()));
    for (const Tensor& t : inputs)
        if (t.defined() && t.requires_grad()) Tensor(t).set_grad(Tensor());

    Tensor out = fn(inputs);
    Generator gen(options.seed);
    const Tensor r = randn(out.shape(), DType::Float64, &gen);
    Tensor loss = sum(mul(out.to(DType::Float64), r));
    if (!loss.requires_grad()) {
        result.ok = false;
        result.message = "gradcheck: the output does not require grad";
        return result;
    }
    loss.backward();

    std::ostringstream msg;
    msg.precision(10);
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const Tensor& x = inputs[k];
        if (!x.defined() || !x.requires_grad()) continue;
        Tensor analytic = x.grad();
        std::vector<double> a = analytic.defined() ? analytic.to_vector<double>()
                                                   : std::vector<double>(static_cast<std::size_t>(x.numel()), 0.0);
        double* base = detail::storage_ptr<double>(x);
        const std::vector<std::int64_t> offs = element_offsets(x);
        for (std::size_t j = 0; j < offs.size(); ++j) {
            double& v = base[offs[j]];
            const double orig = v;
            v = orig + options.eps;
            const double plus = projected(fn, inputs, r);
            v = orig - options.eps;
            const double minus = projected(fn, inputs, r);
            v = orig;
            const double numeric = (plus - minus) / (2.0 * options.eps);
            const double err = std::abs(a[j] - numeric);
            result.max_abs_error = std::max(result.max_abs_error, err);
            if (!(err <= options.atol + options.rtol * std::abs(numeric))) {
                if (result.ok)
                    msg << "gradcheck: input " << k << " " << shape_str(x.shape()) << " element " << j
                        << ": analytic " << a[j] << " vs numeric " << numeric << " (|diff| " << err << ")";
                result.ok = false;
            }
        }
    }
    result.message = msg.str();
    return result;
}

}  // namespace graft::testing
