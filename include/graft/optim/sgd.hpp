// graft/optim/sgd.hpp — stochastic gradient descent, torch.optim.SGD's update formula for formula.
//
//   optim::SGD opt(model.trainable_parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
//
// SGDOptions' fields are declared in torch.optim.SGD's keyword order — lr, momentum, dampening,
// weight_decay, nesterov, maximize — and C++20 designated initializers must follow declaration
// order, so a PyTorch call reads the same with any subset of the keywords:
//   torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)
//   optim::SGD opt(params, {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true});
//
// Per parameter with a gradient g (torch 1.13):
//   d = maximize ? −g : g;  d += weight_decay·p
//   momentum ≠ 0: buf = first step ? d : momentum·buf + (1 − dampening)·d;  d = nesterov ? d + momentum·buf : buf
//   p −= lr·d
#pragma once

#include <vector>

#include "graft/optim/optimizer.hpp"

namespace graft::optim {

/// In torch.optim.SGD's keyword order (designated initializers must keep it).
struct SGDOptions {
    double lr = 1e-3;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
    bool maximize = false;
};

/// ValueError for lr, momentum or weight_decay negative, NaN or infinite, dampening not finite, or
/// Nesterov without momentum or with dampening.
void validate(const SGDOptions& options, const char* optimizer_name);
/// lr, momentum, dampening, weight_decay, nesterov, maximize.
std::vector<OptionRef> option_refs(SGDOptions& options);

class SGD final : public OptimizerWith<SGDOptions> {
public:
    explicit SGD(std::vector<Tensor> params, const SGDOptions& options = {});
    explicit SGD(std::vector<Group> groups);

    void step() override;
    double momentum(std::size_t group) const override { return options(group).momentum; }
    void set_momentum(std::size_t group, double momentum) override { options(group).momentum = momentum; }

private:
    std::vector<std::string> required_buffers(std::size_t group) const override;
    std::vector<std::string> known_buffers() const override;
};

}  // namespace graft::optim
