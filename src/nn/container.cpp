// Sequential, ModuleList and ModuleDict.
#include "graft/nn/container.hpp"

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
}  // namespace

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) {
    for (const auto& m : modules) push_back_shared(m);
}

void Sequential::push_back_shared(std::shared_ptr<Module> module) {
    register_module(std::to_string(size()), std::move(module));
}

std::shared_ptr<Module> Sequential::operator[](std::int64_t i) const { return child_at(*this, i, "Sequential"); }

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (const auto& [name, child] : named_children()) h = with_module_path(name, *child, [&] { return child->forward(h); });
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
