// RMSprop: options, validation and the step over the fused kernel (kernels/optim).
#include "graft/optim/rmsprop.hpp"

#include <cmath>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/profiler.hpp"
#include "kernels/optim/optim.hpp"
#include "optim/param_update.hpp"

namespace graft::optim {

void validate(const RMSpropOptions& o, const char* optimizer_name) {
    detail::require(std::isfinite(o.lr) && o.lr >= 0, optimizer_name, "lr", o.lr, "must be finite and >= 0");
    detail::require(std::isfinite(o.eps) && o.eps >= 0, optimizer_name, "eps", o.eps, "must be finite and >= 0");
    detail::require(std::isfinite(o.momentum) && o.momentum >= 0, optimizer_name, "momentum",
                    o.momentum, "must be finite and >= 0");
    detail::require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, optimizer_name, "weight_decay",
                    o.weight_decay, "must be finite and >= 0");
    detail::require(std::isfinite(o.alpha) && o.alpha >= 0, optimizer_name, "alpha",
                    o.alpha, "must be finite and >= 0");
}

std::vector<OptionRef> option_refs(RMSpropOptions& o) {
    return {{"lr", &o.lr, nullptr},          {"alpha", &o.alpha, nullptr},    {"eps", &o.eps, nullptr},
            {"weight_decay", &o.weight_decay, nullptr}, {"momentum", &o.momentum, nullptr},
            {"centered", nullptr, &o.centered}, {"maximize", nullptr, &o.maximize}};
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options)
    : OptimizerWith("RMSprop", std::move(params), options) {}

RMSprop::RMSprop(std::vector<Group> groups) : OptimizerWith("RMSprop", std::move(groups)) {}

namespace {

template <class T>
T* data_of(const Tensor& t) {
    return t.defined() ? t.data_ptr<T>() : nullptr;
}

template <class T>
void run_rmsprop(const detail::ParamUpdate& u, const Tensor& sq, const Tensor& avg_g, const Tensor& buf,
                 const RMSpropOptions& o) {
    const kernels::RmspropCoeffs<T> c{static_cast<T>(o.alpha),        static_cast<T>(1 - o.alpha),
                                      static_cast<T>(o.eps),          static_cast<T>(o.weight_decay),
                                      static_cast<T>(o.momentum),     static_cast<T>(-o.lr),
                                      o.maximize};
    kernels::rmsprop_update(u.numel(), u.param<T>(), u.grad<T>(), sq.data_ptr<T>(), data_of<T>(avg_g),
                            data_of<T>(buf), c);
}

/// One RMSprop update of the parameter u views; its state appears here on its first gradient.
void update_param(detail::ParamUpdate& u, ParamState& st, const Tensor& p, const RMSpropOptions& o, const char* name) {
    const Tensor sq = detail::buffer(st, "square_avg", p);
    const Tensor buf = o.momentum > 0 ? detail::buffer(st, "momentum_buffer", p) : Tensor();
    const Tensor avg_g = o.centered ? detail::buffer(st, "grad_avg", p) : Tensor();
    ++st.step;
    graft::detail::dispatch_floating(u.dtype(), name, [&]<class T>() { run_rmsprop<T>(u, sq, avg_g, buf, o); });
    u.commit();
}

}  // namespace

void RMSprop::step() {
    GRAFT_PROFILE_SCOPE("RMSprop.step");
    update_each([&](std::size_t g, detail::ParamUpdate& u, ParamState& st, const Tensor& p) {
        update_param(u, st, p, options_[g], name());
    });
}

std::vector<std::string> RMSprop::required_buffers(std::size_t group) const {
    const RMSpropOptions& o = options(group);
    std::vector<std::string> names = {"square_avg"};
    if (o.momentum > 0) names.push_back("momentum_buffer");
    if (o.centered) names.push_back("grad_avg");
    return names;
}

std::vector<std::string> RMSprop::known_buffers() const { return {"square_avg", "momentum_buffer", "grad_avg"}; }

}  // namespace graft::optim
