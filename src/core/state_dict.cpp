// StateDict: insertion-ordered name → Tensor map.
#include "graft/state_dict.hpp"

namespace graft {

StateDict::StateDict(std::initializer_list<Entry> entries) {
    for (const auto& [name, t] : entries) insert(name, t);
}

void StateDict::insert(const std::string& name, const Tensor& t) {
    if (index_.count(name)) throw ValueError("StateDict: duplicate name '" + name + "'");
    index_.emplace(name, entries_.size());
    entries_.emplace_back(name, t);
}

void StateDict::set(const std::string& name, const Tensor& t) {
    if (auto it = index_.find(name); it != index_.end())
        entries_[it->second].second = t;
    else
        insert(name, t);
}

const Tensor* StateDict::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
}

const Tensor& StateDict::at(const std::string& name) const {
    if (const Tensor* t = find(name)) return *t;
    std::string known;
    for (std::size_t i = 0; i < entries_.size() && i < 8; ++i) known += (i ? ", " : "") + entries_[i].first;
    if (entries_.size() > 8) known += ", …";
    throw IndexError("StateDict: no entry '" + name + "' (has " + std::to_string(entries_.size()) +
                     " entries: " + known + ")");
}

bool StateDict::erase(const std::string& name) {
    auto it = index_.find(name);
    if (it == index_.end()) return false;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
    index_.clear();
    for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
    return true;
}

std::vector<std::string> StateDict::keys() const {
    std::vector<std::string> k;
    k.reserve(entries_.size());
    for (const auto& e : entries_) k.push_back(e.first);
    return k;
}

}  // namespace graft
