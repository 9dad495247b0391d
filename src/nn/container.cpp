// Sequential, ModuleList and ModuleDict.
#include "graft/nn/container.hpp"

#include <typeinfo>

#include "graft/nn/activation.hpp"
#include "graft/nn/batchnorm.hpp"
#include "graft/nn/conv.hpp"
#include "graft/nn/conv_batch_norm.hpp"

namespace graft::nn {

namespace {
std::shared_ptr<Module> child_at(const Module& m, std::int64_t i, const char* who) {
    const auto kids = m.named_children();
    const std::int64_t n = static_cast<std::int64_t>(kids.size());
    if (i < -n || i >= n)
        throw IndexError(std::string(who) + ": index " + std::to_string(i) + " out of range for " +
                         std::to_string(n) + " children");
    return kids[static_cast<std::size_t>(i < 0 ? i + n : i)].second;
}

/// Deep copy of a container: clone every child into `copy` under the same names.
template <class C>
std::shared_ptr<Module> clone_container(const C& self, std::shared_ptr<C> copy) {
    // The container's own mode is set while it is still empty, so that train() does not
    // overwrite the modes the cloned children carry over (a child kept in eval stays in eval).
    copy->train(self.is_training());
    copy->set_eval_pinned(self.is_eval_pinned());
    for (const auto& [name, child] : self.named_children()) copy->register_module(name, child->clone());
    return copy;
}

/// The activation batch_norm can fuse when m is exactly that layer (a subclass may forward
/// differently), None otherwise.
functional::BatchNormActivation fusable_activation(const Module& m) {
    using A = functional::BatchNormActivation;
    const std::type_info& t = typeid(m);
    if (t == typeid(ReLU)) return A::ReLU;
    if (t == typeid(ReLU6)) return A::ReLU6;
    if (t == typeid(Hardswish)) return A::Hardswish;
    if (t == typeid(SiLU)) return A::SiLU;
    return A::None;
}

/// bn's forward_activation when m is a BatchNorm layer, an undefined tensor otherwise.
Tensor forward_batch_norm_activation(Module& m, const Tensor& x, functional::BatchNormActivation activation) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) return bn->forward_activation(x, activation);
    if (auto* bn = dynamic_cast<BatchNorm1d*>(&m)) return bn->forward_activation(x, activation);
    return Tensor();
}
}  // namespace

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) {
    for (const auto& m : modules) push_back_shared(m);
}

void Sequential::push_back_shared(std::shared_ptr<Module> module) {
    register_module(std::to_string(size()), std::move(module));
}

std::shared_ptr<Module> Sequential::operator[](std::int64_t i) const { return child_at(*this, i, "Sequential"); }

// A BatchNorm followed by ReLU, ReLU6, Hardswish or SiLU runs as one batch_norm with the
// activation fused (the same values and gradients, one tensor and two passes fewer). A Conv2d
// followed by such a BatchNorm, frozen in eval mode, runs as one convolution that applies both
// (nn::conv_batch_norm; the same values, no pass of the BatchNorm's own).
Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    const auto children = named_children();
    const auto activation_at = [&](std::size_t j) {
        return j < children.size() ? fusable_activation(*children[j].second) : functional::BatchNormActivation::None;
    };
    for (std::size_t i = 0; i < children.size(); ++i) {
        const auto& [name, child] = children[i];
        if (i + 1 < children.size() && typeid(*child) == typeid(Conv2d) &&
            typeid(*children[i + 1].second) == typeid(BatchNorm2d)) {
            auto& conv = static_cast<Conv2d&>(*child);
            auto& bn = static_cast<BatchNorm2d&>(*children[i + 1].second);
            if (batch_norm_folds(conv, bn, h)) {
                const auto activation = activation_at(i + 2);
                h = with_module_path(name, conv, [&] { return conv_batch_norm(conv, bn, h, activation); });
                i += activation != functional::BatchNormActivation::None ? 2 : 1;
                continue;
            }
        }
        if (i + 1 < children.size()) {
            const auto activation = activation_at(i + 1);
            if (activation != functional::BatchNormActivation::None) {
                Tensor fused =
                    with_module_path(name, *child, [&] { return forward_batch_norm_activation(*child, h, activation); });
                if (fused.defined()) {
                    h = std::move(fused);
                    ++i;
                    continue;
                }
            }
        }
        h = with_module_path(name, *child, [&] { return child->forward(h); });
    }
    return h;
}

std::shared_ptr<Module> Sequential::clone() const { return clone_container(*this, std::make_shared<Sequential>()); }

void ModuleList::push_back_shared(std::shared_ptr<Module> module) {
    register_module(std::to_string(size()), std::move(module));
}

std::shared_ptr<Module> ModuleList::operator[](std::int64_t i) const { return child_at(*this, i, "ModuleList"); }

std::shared_ptr<Module> ModuleList::clone() const { return clone_container(*this, std::make_shared<ModuleList>()); }

bool ModuleDict::contains(const std::string& name) const {
    for (const auto& [n, c] : named_children())
        if (n == name) return true;
    return false;
}

std::shared_ptr<Module> ModuleDict::clone() const { return clone_container(*this, std::make_shared<ModuleDict>()); }

}  // namespace graft::nn
