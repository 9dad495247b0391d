// graft/state_dict.hpp — an ordered name → Tensor dictionary (state dicts, safetensors contents).
//
//   StateDict sd = model.state_dict();          // "0.weight", "0.bias", … in PyTorch's order
//   for (const auto& [name, t] : sd) std::cout << name << " " << shape_str(t.shape()) << "\n";
//   if (const Tensor* w = sd.find("0.weight")) …
//   StateDict small{{"w", w}, {"b", b}};         // in this order
#pragma once

#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graft/tensor.hpp"

namespace graft {

class StateDict {
public:
    using Entry = std::pair<std::string, Tensor>;

    StateDict() = default;
    /// The entries in the order given; ValueError on a repeated name.
    StateDict(std::initializer_list<Entry> entries);

    /// Adds a new entry at the end; ValueError if the name is already present.
    void insert(const std::string& name, const Tensor& t);
    /// Adds or replaces (keeping the original position).
    void set(const std::string& name, const Tensor& t);
    /// The tensor under `name`; IndexError listing a few known names otherwise.
    const Tensor& at(const std::string& name) const;
    /// nullptr when absent.
    const Tensor* find(const std::string& name) const;
    bool contains(const std::string& name) const { return index_.count(name) != 0; }
    /// Removes an entry; returns whether it existed.
    bool erase(const std::string& name);
    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    std::vector<std::string> keys() const;

    std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
    std::vector<Entry>::const_iterator end() const { return entries_.end(); }

private:
    std::vector<Entry> entries_;
    std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace graft
