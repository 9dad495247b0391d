// SGD: options, validation and the step over the fused kernel (kernels/optim).
#include "graft/optim/sgd.hpp"

#include <cmath>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/profiler.hpp"
#include "kernels/optim/optim.hpp"
#include "optim/param_update.hpp"

namespace graft::optim {

void validate(const SGDOptions& o, const char* optimizer_name) {
    detail::require(std::isfinite(o.lr) && o.lr >= 0, optimizer_name, "lr", o.lr, "must be finite and >= 0");
    detail::require(std::isfinite(o.momentum) && o.momentum >= 0, optimizer_name, "momentum",
                    o.momentum, "must be finite and >= 0");
    detail::require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, optimizer_name, "weight_decay",
                    o.weight_decay, "must be finite and >= 0");
    detail::require(std::isfinite(o.dampening), optimizer_name, "dampening", o.dampening, "must be finite");
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
        throw ValueError(std::string(optimizer_name) + ": Nesterov momentum needs momentum > 0 and dampening 0, got momentum " +
                         std::to_string(o.momentum) + " and dampening " + std::to_string(o.dampening));
}

std::vector<OptionRef> option_refs(SGDOptions& o) {
    return {{"lr", &o.lr, nullptr},           {"momentum", &o.momentum, nullptr},
            {"dampening", &o.dampening, nullptr}, {"weight_decay", &o.weight_decay, nullptr},
            {"nesterov", nullptr, &o.nesterov},   {"maximize", nullptr, &o.maximize}};
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options) : OptimizerWith("SGD", std::move(params), options) {}

SGD::SGD(std::vector<Group> groups) : OptimizerWith("SGD", std::move(groups)) {}

namespace {

template <class T>
void run_sgd(const detail::ParamUpdate& u, const Tensor& buf, const SGDOptions& o, bool init_buffer) {
    const kernels::SgdCoeffs<T> c{static_cast<T>(-o.lr),       static_cast<T>(o.weight_decay),
                                  static_cast<T>(o.momentum),  static_cast<T>(1.0 - o.dampening),
                                  o.nesterov,                  init_buffer,
                                  o.maximize};
    kernels::sgd_update(u.numel(), u.param<T>(), u.grad<T>(), buf.defined() ? buf.data_ptr<T>() : nullptr, c);
}

/// One SGD update of the parameter u views; its momentum buffer appears here on its first gradient.
void update_param(detail::ParamUpdate& u, ParamState& st, const Tensor& p, const SGDOptions& o, const char* name) {
    Tensor buf;
    bool init_buffer = false;
    if (o.momentum != 0) {
        init_buffer = st.find("momentum_buffer") == nullptr;
        buf = detail::buffer(st, "momentum_buffer", p);
    }
    ++st.step;
    graft::detail::dispatch_floating(u.dtype(), name, [&]<class T>() { run_sgd<T>(u, buf, o, init_buffer); });
    u.commit();
}

}  // namespace

void SGD::step() {
    GRAFT_PROFILE_SCOPE("SGD.step");
    update_each([&](std::size_t g, detail::ParamUpdate& u, ParamState& st, const Tensor& p) {
        update_param(u, st, p, options_[g], name());
    });
}

std::vector<std::string> SGD::required_buffers(std::size_t group) const {
    if (options(group).momentum != 0) return {"momentum_buffer"};
    return {};
}

std::vector<std::string> SGD::known_buffers() const { return {"momentum_buffer"}; }

}  // namespace graft::optim
