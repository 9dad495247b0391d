// L2-SP and EWC: building the per-parameter terms from a reference (and a Fisher), and applying
// ½·c·Σ f·(w − a)² with its gradient c·f·(w − a) outside the autograd graph.
#include "graft/train/forgetting_guard.hpp"

#include <cmath>
#include <string>

#include "graft/autograd.hpp"
#include "graft/error.hpp"
#include "graft/ops.hpp"

namespace graft::train {

namespace {

bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
    for (const auto& g : globs)
        if (nn::glob_match(g, name)) return true;
    return false;
}

void check_coefficient(const char* who, const char* what, double c) {
    if (!(c >= 0.0) || !std::isfinite(c))
        throw ValueError(std::string(who) + ": " + what + " must be finite and >= 0, got " + std::to_string(c));
}

/// The reference's tensor for `name`, checked against the parameter's shape, as a float32 copy.
Tensor reference_copy(const char* who, const char* what, const StateDict& dict, const std::string& name,
                      const Tensor& param, const std::string& hint) {
    const Tensor* t = dict.find(name);
    if (!t)
        throw ValueError(std::string(who) + ": parameter '" + name + "' is not in the " + what + " (" +
                         std::to_string(dict.size()) + " tensors)" + hint);
    if (t->shape() != param.shape())
        throw ShapeError(std::string(who) + ": parameter '" + name + "' has shape " + shape_str(param.shape()) +
                         " but the " + what + " holds " + shape_str(t->shape()));
    if (!is_floating(t->dtype()))
        throw ValueError(std::string(who) + ": the " + what + "'s '" + name + "' is not floating-point");
    NoGradGuard no_grad;
    return t->detach().to(DType::Float32).contiguous().clone();
}

}  // namespace

double ForgettingGuard::accumulate(const nn::Module& model, bool trainable_only, bool add_gradient) const {
    NoGradGuard no_grad;
    std::map<std::string, Tensor> params;
    for (auto& [name, p] : model.named_parameters()) params.emplace(name, p);
    double total = 0.0;
    for (const auto& [name, term] : terms_) {
        auto it = params.find(name);
        if (it == params.end())
            throw ValueError(this->name() + " guard: parameter '" + name +
                             "' is no longer in the model (the guard was built for another model)");
        Tensor& p = it->second;
        if (trainable_only && !p.requires_grad()) continue;
        if (term.coef == 0.0) continue;
        if ((term.anchor.defined() && term.anchor.shape() != p.shape()) ||
            (term.weight.defined() && term.weight.shape() != p.shape()))
            throw ShapeError(this->name() + " guard: parameter '" + name + "' is now " + shape_str(p.shape()) +
                             ", the guard was built for " +
                             shape_str((term.anchor.defined() ? term.anchor : term.weight).shape()));
        const Tensor w = p.detach().to(DType::Float32);
        const Tensor diff = term.anchor.defined() ? w - term.anchor : w;                // w − a
        const Tensor weighted = term.weight.defined() ? diff * term.weight : diff;      // f·(w − a)
        total += 0.5 * term.coef * (weighted * diff).sum().item<double>();              // ½c·Σ f(w − a)²
        if (add_gradient) {
            const Tensor g = (weighted * term.coef).to(p.dtype());                     // ⇒ dw = c·f·(w − a)
            const Tensor old = p.grad();
            p.set_grad(old.defined() ? old + g : g);
        }
    }
    return total;
}

double ForgettingGuard::apply(const nn::Module& model) const { return accumulate(model, true, true); }

double ForgettingGuard::value(const nn::Module& model) const { return accumulate(model, false, false); }

L2SP::L2SP(const nn::Module& model, const StateDict& reference, L2SPOptions options) {
    check_coefficient("L2SP", "alpha", options.alpha);
    check_coefficient("L2SP", "beta", options.beta);
    std::vector<bool> group_used(options.alpha_groups.size(), false);
    for (const auto& [glob, alpha] : options.alpha_groups) check_coefficient("L2SP", ("alpha of group '" + glob + "'").c_str(), alpha);
    for (const auto& [name, p] : model.named_parameters()) {
        if (matches_any(options.new_parameters, name)) {
            add_term(name, {.coef = options.beta, .anchor = Tensor(), .weight = Tensor()});
            continue;
        }
        double alpha = options.alpha;
        for (std::size_t g = 0; g < options.alpha_groups.size(); ++g)
            if (nn::glob_match(options.alpha_groups[g].first, name)) {
                alpha = options.alpha_groups[g].second;
                group_used[g] = true;
                break;
            }
        add_term(name, {.coef = alpha,
                        .anchor = reference_copy("L2SP", "reference", reference, name, p,
                                                 "; list new parameters in L2SPOptions::new_parameters"),
                        .weight = Tensor()});
    }
    for (std::size_t g = 0; g < group_used.size(); ++g)
        if (!group_used[g])
            throw ValueError("L2SP: alpha group '" + options.alpha_groups[g].first +
                             "' matches no pretrained parameter of the model");
}

EWC::EWC(const nn::Module& model, const StateDict& reference, const StateDict& fisher, EWCOptions options) {
    check_coefficient("EWC", "lambda", options.lambda);
    const std::string hint = "; list new parameters in EWCOptions::new_parameters";
    for (const auto& [name, p] : model.named_parameters()) {
        if (matches_any(options.new_parameters, name)) continue;
        Tensor anchor = reference_copy("EWC", "reference", reference, name, p, hint);
        Tensor f = reference_copy("EWC", "Fisher", fisher, name, p, hint);
        for (float v : f.to_vector<float>())
            if (!(v >= 0.0f) || !std::isfinite(v))
                throw ValueError("EWC: the Fisher of '" + name + "' holds " + std::to_string(v) +
                                 " (entries must be finite and >= 0)");
        add_term(name, {.coef = options.lambda, .anchor = std::move(anchor), .weight = std::move(f)});
    }
}

}  // namespace graft::train
