// graft/train/forgetting_guard.hpp — penalties that keep a fine-tuned network near its pretrained
// weights, so that it forgets less of the source task: L2-SP and EWC, as TrainerOptions::guard.
//
//   const StateDict w0 = io::load_safetensors("pretrained.safetensors");
//   auto l2sp = std::make_shared<train::L2SP>(model, w0, train::L2SPOptions{
//       .alpha = 0.01, .beta = 1e-4, .new_parameters = {"head.*"},
//       .alpha_groups = {{"features.0.*", 0.1}}});          // the lowest block held tighter
//   train::Trainer trainer(model, opt, {.epochs = 20, .guard = l2sp});
//
//   // EWC: the diagonal Fisher of the source task, saved next to the pretrained weights
//   train::save_fisher(train::fisher_path("pretrained.safetensors"),
//                      train::estimate_fisher(model, source_loader, 20));
//   auto ewc = std::make_shared<train::EWC>(model, w0, train::load_fisher(
//       train::fisher_path("pretrained.safetensors")), train::EWCOptions{.lambda = 100, .new_parameters = {"head.*"}});
//
// Both are ½ Σ_p c_p · Σ_i f_p,i · (w_p,i − a_p,i)²: L2-SP with f = 1, c = alpha and a = w0 on the
// pretrained parameters, c = beta and a = 0 on the new ones; EWC with f = the Fisher, c = lambda,
// a = w0, and nothing on the new ones. The Trainer adds the penalty's gradient c·f·(w − a) straight
// into the trainable parameters' .grad() before each optimizer step (before clipping), outside the
// autograd graph, and skips frozen parameters entirely; it logs the mean penalty as
// "train_penalty" (train_loss stays the data loss).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "graft/nn/module.hpp"
#include "graft/state_dict.hpp"

namespace graft::train {

/// A quadratic pull of named parameters toward anchors. The parameters are looked up by name in
/// the model at each call, so a guard built before a replaced member still finds the new one.
class ForgettingGuard {
public:
    virtual ~ForgettingGuard() = default;
    /// "l2sp" or "ewc".
    virtual std::string name() const = 0;
    /// Adds the penalty's gradient to every trainable parameter's .grad() (creating it where a
    /// backward left none) and returns the penalty over those parameters. Frozen ones cost nothing.
    /// ValueError when a guarded name is no longer a parameter of the model, ShapeError when its shape changed.
    double apply(const nn::Module& model) const;
    /// The penalty over every guarded parameter, frozen or not, without touching gradients.
    double value(const nn::Module& model) const;

protected:
    struct Term {
        double coef = 0.0;
        Tensor anchor;  ///< float32 copy; undefined: zero
        Tensor weight;  ///< float32 per-element factor; undefined: one
    };
    void add_term(const std::string& name, Term term) { terms_.emplace(name, std::move(term)); }
    std::map<std::string, Term> terms_;

private:
    double accumulate(const nn::Module& model, bool trainable_only, bool add_gradient) const;
};

struct L2SPOptions {
    /// alpha/2·||w − w0||² on each parameter found in the reference.
    double alpha = 0.01;
    /// beta/2·||w||² on each new parameter (0: none).
    double beta = 0.0;
    /// Globs of parameters that are new (a replaced head), even where the reference has their names.
    std::vector<std::string> new_parameters{};
    /// {glob, alpha}: a coefficient per parameter group, the first matching glob wins over `alpha`.
    std::vector<std::pair<std::string, double>> alpha_groups{};
};

/// L2-SP (Li et al., 2018): the fine-tuned weights pulled toward the pretrained ones. Every
/// parameter of the model must match a new_parameters glob or be in the reference with its shape:
/// ValueError naming the missing one (and saying to list it in new_parameters), ShapeError naming
/// both shapes; ValueError for a negative coefficient or an alpha_groups glob that matches nothing.
class L2SP final : public ForgettingGuard {
public:
    L2SP(const nn::Module& model, const StateDict& reference, L2SPOptions options = {});
    std::string name() const override { return "l2sp"; }
};

struct EWCOptions {
    /// lambda/2·Σ F·(w − w0)².
    double lambda = 1.0;
    /// Globs of parameters that are new (no source-task Fisher applies to them): not penalised.
    std::vector<std::string> new_parameters{};
};

/// Elastic weight consolidation (Kirkpatrick et al., 2017): each weight held to its pretrained
/// value in proportion to its diagonal Fisher information on the source task (estimate_fisher).
/// Every parameter not matching new_parameters must be in both the reference and the Fisher with
/// its shape (ValueError / ShapeError naming it); a negative or non-finite Fisher entry is a ValueError.
class EWC final : public ForgettingGuard {
public:
    EWC(const nn::Module& model, const StateDict& reference, const StateDict& fisher, EWCOptions options = {});
    std::string name() const override { return "ewc"; }
};

}  // namespace graft::train
