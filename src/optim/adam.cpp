// Adam and AdamW: options, validation and the step over the fused kernel (kernels/optim).
#include "graft/optim/adam.hpp"

#include <cmath>
#include <type_traits>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/profiler.hpp"
#include "kernels/optim/optim.hpp"
#include "optim/param_update.hpp"

namespace graft::optim {

namespace {

/// What Adam and AdamW share; `decoupled` picks AdamW's weight decay.
struct AdamConfig {
    double lr, beta1, beta2, eps, weight_decay;
    bool amsgrad, maximize, decoupled;
};

template <class O>
AdamConfig config(const O& o, bool decoupled) {
    return {o.lr, o.betas[0], o.betas[1], o.eps, o.weight_decay, o.amsgrad, o.maximize, decoupled};
}

template <class O>
void check_adam(const O& o, const char* name) {
    detail::require(std::isfinite(o.lr) && o.lr >= 0, name, "lr", o.lr, "must be finite and >= 0");
    detail::require(std::isfinite(o.eps) && o.eps >= 0, name, "eps", o.eps, "must be finite and >= 0");
    detail::require(o.betas[0] >= 0 && o.betas[0] < 1, name, "betas[0]", o.betas[0], "must be in [0, 1)");
    detail::require(o.betas[1] >= 0 && o.betas[1] < 1, name, "betas[1]", o.betas[1], "must be in [0, 1)");
    detail::require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, name, "weight_decay",
                    o.weight_decay, "must be finite and >= 0");
}

template <class O>
std::vector<OptionRef> adam_refs(O& o) {
    return {{"lr", &o.lr, nullptr},         {"betas.0", &o.betas[0], nullptr},
            {"betas.1", &o.betas[1], nullptr}, {"eps", &o.eps, nullptr},
            {"weight_decay", &o.weight_decay, nullptr}, {"amsgrad", nullptr, &o.amsgrad},
            {"maximize", nullptr, &o.maximize}};
}

template <class T>
void run_adam(const detail::ParamUpdate& u, const Tensor& m, const Tensor& v, const Tensor& vmax,
              const AdamConfig& c, std::int64_t step) {
    const double t = static_cast<double>(step);
    const double bias_correction1 = 1 - std::pow(c.beta1, t);
    const double bias_correction2 = 1 - std::pow(c.beta2, t);
    const kernels::AdamCoeffs<T> k{
        static_cast<T>(c.beta1),
        static_cast<T>(c.beta2),
        static_cast<T>(1 - c.beta1),
        static_cast<T>(1 - c.beta2),
        static_cast<T>(c.decoupled ? 0.0 : c.weight_decay),
        static_cast<T>(c.decoupled ? 1 - c.lr * c.weight_decay : 1.0),
        static_cast<T>(-(c.lr / bias_correction1)),
        static_cast<T>(std::sqrt(bias_correction2)),
        static_cast<T>(c.eps),
        c.maximize,
    };
    kernels::adam_update(u.numel(), u.param<T>(), u.grad<T>(), m.data_ptr<T>(), v.data_ptr<T>(),
                         vmax.defined() ? vmax.data_ptr<T>() : nullptr, k);
}

/// One Adam/AdamW update of the parameter u views; its state appears here on its first gradient.
void update_param(detail::ParamUpdate& u, ParamState& st, const Tensor& p, const AdamConfig& c, const char* name) {
    const Tensor m = detail::buffer(st, "exp_avg", p);
    const Tensor v = detail::buffer(st, "exp_avg_sq", p);
    const Tensor vmax = c.amsgrad ? detail::buffer(st, "max_exp_avg_sq", p) : Tensor();
    ++st.step;
    graft::detail::dispatch_floating(u.dtype(), name, [&]<class T>() { run_adam<T>(u, m, v, vmax, c, st.step); });
    u.commit();
}

std::vector<std::string> adam_buffers(bool amsgrad) {
    if (amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
}

}  // namespace

void validate(const AdamOptions& options, const char* optimizer_name) { check_adam(options, optimizer_name); }
void validate(const AdamWOptions& options, const char* optimizer_name) { check_adam(options, optimizer_name); }
std::vector<OptionRef> option_refs(AdamOptions& options) { return adam_refs(options); }
std::vector<OptionRef> option_refs(AdamWOptions& options) { return adam_refs(options); }

template <class Options>
void AdamFamily<Options>::step() {
    constexpr bool decoupled = std::is_same_v<Options, AdamWOptions>;
    GRAFT_PROFILE_SCOPE(decoupled ? "AdamW.step" : "Adam.step");
    this->update_each([&](std::size_t g, detail::ParamUpdate& u, ParamState& st, const Tensor& p) {
        update_param(u, st, p, config(this->options_[g], decoupled), this->name());
    });
}

template <class Options>
std::vector<std::string> AdamFamily<Options>::required_buffers(std::size_t group) const {
    return adam_buffers(this->options(group).amsgrad);
}

template <class Options>
std::vector<std::string> AdamFamily<Options>::known_buffers() const {
    return adam_buffers(true);
}

template class AdamFamily<AdamOptions>;
template class AdamFamily<AdamWOptions>;

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : AdamFamily("Adam", std::move(params), options) {}
Adam::Adam(std::vector<Group> groups) : AdamFamily("Adam", std::move(groups)) {}
AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : AdamFamily("AdamW", std::move(params), options) {}
AdamW::AdamW(std::vector<Group> groups) : AdamFamily("AdamW", std::move(groups)) {}

}  // namespace graft::optim
