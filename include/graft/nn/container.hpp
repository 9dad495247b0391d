// graft/nn/container.hpp — Sequential, ModuleList and ModuleDict.
//
//   nn::Sequential model{nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10)};  // children "0", "1", "2"
//   auto y = model.forward(x);
//   model.replace("2", nn::Linear(256, 5));      // new head
//   nn::ModuleList blocks; blocks.push_back(nn::Linear(8, 8));   // "0", "1", …
//   nn::ModuleDict heads; heads.insert("digits", nn::Linear(64, 10));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graft/nn/module.hpp"

namespace graft::nn {

namespace detail {
template <class M>
concept ModuleValue = std::is_base_of_v<Module, std::remove_cvref_t<M>>;
template <class M>
std::shared_ptr<Module> to_shared(M&& m) {
    if constexpr (requires { typename std::remove_cvref_t<M>::element_type; })
        return std::static_pointer_cast<Module>(m);
    else
        return std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(m));
}
}  // namespace detail

/// Children "0", "1", … applied in order by forward().
class Sequential : public Module {
public:
    Sequential() = default;
    /// From module values (moved in) or shared_ptrs to modules.
    template <class... Ms>
        requires(sizeof...(Ms) > 0 &&
                 ((detail::ModuleValue<Ms> && !std::is_same_v<std::remove_cvref_t<Ms>, Sequential>) || ...))
    explicit Sequential(Ms&&... modules) {
        (push_back_shared(detail::to_shared(std::forward<Ms>(modules))), ...);
    }
    explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);

    std::string type_name() const override { return "Sequential"; }
    /// Applies each child in order; an Error names the child's path and type ("2 (Linear): …").
    Tensor forward(const Tensor& x) override;

    template <class M>
        requires detail::ModuleValue<M>
    std::shared_ptr<std::remove_cvref_t<M>> push_back(M&& module) {
        auto p = std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module));
        push_back_shared(p);
        return p;
    }
    void push_back_shared(std::shared_ptr<Module> module);
    std::size_t size() const { return num_children(); }
    /// The i-th child (negative counts from the end).
    std::shared_ptr<Module> operator[](std::int64_t i) const;
    template <class M>
    std::shared_ptr<M> at(std::int64_t i) const {
        auto p = std::dynamic_pointer_cast<M>((*this)[i]);
        if (!p) throw DTypeError("Sequential::at: child " + std::to_string(i) + " has another type");
        return p;
    }
    std::shared_ptr<Module> clone() const override;
};

/// An indexable list of submodules ("0", "1", …) without a forward of its own.
class ModuleList : public Module {
public:
    ModuleList() = default;
    std::string type_name() const override { return "ModuleList"; }
    template <class M>
        requires detail::ModuleValue<M>
    std::shared_ptr<std::remove_cvref_t<M>> push_back(M&& module) {
        auto p = std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module));
        push_back_shared(p);
        return p;
    }
    void push_back_shared(std::shared_ptr<Module> module);
    std::size_t size() const { return num_children(); }
    std::shared_ptr<Module> operator[](std::int64_t i) const;
    std::shared_ptr<Module> clone() const override;
};

/// Submodules under names of the user's choosing, in insertion order.
class ModuleDict : public Module {
public:
    ModuleDict() = default;
    std::string type_name() const override { return "ModuleDict"; }
    template <class M>
        requires detail::ModuleValue<M>
    std::shared_ptr<std::remove_cvref_t<M>> insert(const std::string& name, M&& module) {
        return register_module(name, std::forward<M>(module));
    }
    std::shared_ptr<Module> operator[](const std::string& name) const { return submodule(name); }
    bool contains(const std::string& name) const;
    std::size_t size() const { return num_children(); }
    std::shared_ptr<Module> clone() const override;
};

}  // namespace graft::nn
