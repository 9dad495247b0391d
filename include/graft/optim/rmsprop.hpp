// graft/optim/rmsprop.hpp — RMSprop (plain, centered, with momentum), torch.optim.RMSprop's formulas.
//
//   optim::RMSprop opt(params, {.lr = 1e-2, .alpha = 0.99, .momentum = 0.9, .centered = true});
//
// RMSpropOptions' fields are declared in torch.optim.RMSprop's keyword order — lr, alpha, eps,
// weight_decay, momentum, centered, maximize — and C++20 designated initializers must follow
// declaration order, so a PyTorch call reads the same with any subset of the keywords.
//
// Per parameter with a gradient g (torch 1.13):
//   g = maximize ? −g : g;  g += weight_decay·p
//   sq = alpha·sq + (1 − alpha)·g²
//   centered: ga = alpha·ga + (1 − alpha)·g;  a = √(sq − ga²) + eps   otherwise a = √sq + eps
//   momentum > 0: buf = momentum·buf + g/a;  p −= lr·buf           otherwise p −= lr·g/a
// State per parameter: step, square_avg (+ momentum_buffer with momentum, grad_avg when centered).
#pragma once

#include <vector>

#include "graft/optim/optimizer.hpp"

namespace graft::optim {

/// In torch.optim.RMSprop's keyword order (designated initializers must keep it).
struct RMSpropOptions {
    double lr = 1e-2;
    double alpha = 0.99;
    double eps = 1e-8;
    double weight_decay = 0.0;
    double momentum = 0.0;
    bool centered = false;
    bool maximize = false;
};

/// ValueError for lr, eps, momentum, weight_decay or alpha negative, NaN or infinite.
void validate(const RMSpropOptions& options, const char* optimizer_name);
/// lr, alpha, eps, weight_decay, momentum, centered, maximize.
std::vector<OptionRef> option_refs(RMSpropOptions& options);

class RMSprop final : public OptimizerWith<RMSpropOptions> {
public:
    explicit RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = {});
    explicit RMSprop(std::vector<Group> groups);

    void step() override;
    double momentum(std::size_t group) const override { return options(group).momentum; }
    void set_momentum(std::size_t group, double momentum) override { options(group).momentum = momentum; }

private:
    std::vector<std::string> required_buffers(std::size_t group) const override;
    std::vector<std::string> known_buffers() const override;
};

}  // namespace graft::optim
