// graft/optim/adam.hpp — Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight
// decay), torch.optim's formulas, with AMSGrad optional.
//
//   optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-3, .weight_decay = 0.01});
//   optim::Adam opt(params, {.lr = 3e-4, .betas = {0.9, 0.98}, .amsgrad = true});
//
// AdamOptions' and AdamWOptions' fields are declared in torch.optim.Adam's/AdamW's keyword order —
// lr, betas, eps, weight_decay, amsgrad, maximize — and C++20 designated initializers must follow
// declaration order, so a PyTorch call reads the same with any subset of the keywords:
//   torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05, amsgrad=True)
//   optim::AdamW opt(params, {.lr = 1e-3, .betas = {0.9, 0.98}, .eps = 1e-6, .weight_decay = 0.05, .amsgrad = true});
//
// Per parameter with a gradient g, at its t-th update (torch 1.13):
//   g = maximize ? −g : g;   Adam: g += weight_decay·p;   AdamW: p *= 1 − lr·weight_decay
//   m = beta1·m + (1 − beta1)·g;   v = beta2·v + (1 − beta2)·g²;   amsgrad: v_max = max(v_max, v)
//   p −= lr / (1 − beta1^t) · m / (√(v or v_max) / √(1 − beta2^t) + eps)
// State per parameter: step, exp_avg, exp_avg_sq (and max_exp_avg_sq with amsgrad).
// float32 parameters run the fused kernel of the CPU's best ISA, float64 the scalar reference.
#pragma once

#include <array>
#include <vector>

#include "graft/optim/optimizer.hpp"

namespace graft::optim {

/// In torch.optim.Adam's keyword order (designated initializers must keep it).
struct AdamOptions {
    double lr = 1e-3;
    std::array<double, 2> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 0.0;
    bool amsgrad = false;
    bool maximize = false;
};

/// AdamW's options: Adam's, in the same order, with torch's default weight_decay of 0.01.
struct AdamWOptions {
    double lr = 1e-3;
    std::array<double, 2> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 1e-2;
    bool amsgrad = false;
    bool maximize = false;
};

/// ValueError for lr, eps or weight_decay negative, NaN or infinite, or a beta outside [0, 1).
void validate(const AdamOptions& options, const char* optimizer_name);
void validate(const AdamWOptions& options, const char* optimizer_name);
/// lr, betas.0, betas.1, eps, weight_decay, amsgrad, maximize.
std::vector<OptionRef> option_refs(AdamOptions& options);
std::vector<OptionRef> option_refs(AdamWOptions& options);

/// What Adam and AdamW share: the step (decoupled weight decay for AdamWOptions), the buffers and
/// beta1 as the momentum schedulers cycle.
template <class Options>
class AdamFamily : public OptimizerWith<Options> {
public:
    void step() override;
    double momentum(std::size_t group) const override { return this->options(group).betas[0]; }
    void set_momentum(std::size_t group, double beta1) override { this->options(group).betas[0] = beta1; }

protected:
    using OptimizerWith<Options>::OptimizerWith;

private:
    std::vector<std::string> required_buffers(std::size_t group) const override;
    std::vector<std::string> known_buffers() const override;
};

class Adam final : public AdamFamily<AdamOptions> {
public:
    explicit Adam(std::vector<Tensor> params, const AdamOptions& options = {});
    explicit Adam(std::vector<Group> groups);
};

class AdamW final : public AdamFamily<AdamWOptions> {
public:
    explicit AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});
    explicit AdamW(std::vector<Group> groups);
};

extern template class AdamFamily<AdamOptions>;
extern template class AdamFamily<AdamWOptions>;

}  // namespace graft::optim
