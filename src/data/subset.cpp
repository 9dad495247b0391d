// Subset (index remapping over a shared base dataset) and random_split.
#include "graft/data/subset.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "graft/random.hpp"

namespace graft::data {

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<std::size_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
    if (!base_) throw ValueError("Subset: the base dataset is null");
    const std::size_t n = base_->size();
    for (std::size_t i = 0; i < indices_.size(); ++i)
        if (indices_[i] >= n)
            throw IndexError("Subset: indices[" + std::to_string(i) + "] = " + std::to_string(indices_[i]) +
                             " is out of range for a base dataset of " + std::to_string(n) + " samples");
}

Example Subset::get(std::size_t index) const {
    check_index(index, indices_.size(), "Subset::get");
    return base_->get(indices_[index]);
}

Example Subset::get_in_epoch(std::size_t index, std::uint64_t epoch) const {
    check_index(index, indices_.size(), "Subset::get_in_epoch");
    return base_->get_in_epoch(indices_[index], epoch);
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<std::size_t>& lengths, std::uint64_t seed) {
    if (!dataset) throw ValueError("random_split: the dataset is null");
    const std::size_t n = dataset->size();
    const std::size_t total = std::accumulate(lengths.begin(), lengths.end(), std::size_t{0});
    if (total != n) {
        std::string listed;
        for (std::size_t length : lengths) listed += (listed.empty() ? "" : ", ") + std::to_string(length);
        throw ValueError("random_split: lengths [" + listed + "] add up to " + std::to_string(total) +
                         ", the dataset has " + std::to_string(n) + " samples");
    }
    // Fisher–Yates over 0..n-1 with graft's own generator: the same split on every platform.
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    Generator gen(seed);
    for (std::size_t i = n; i > 1; --i) {
        const auto j = static_cast<std::size_t>(gen.randint(0, static_cast<std::int64_t>(i)));
        std::swap(order[i - 1], order[j]);
    }
    std::vector<std::shared_ptr<Subset>> parts;
    parts.reserve(lengths.size());
    std::size_t start = 0;
    for (std::size_t length : lengths) {
        const auto first = order.begin() + static_cast<std::ptrdiff_t>(start);
        parts.push_back(std::make_shared<Subset>(
            dataset, std::vector<std::size_t>(first, first + static_cast<std::ptrdiff_t>(length))));
        start += length;
    }
    return parts;
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<double>& fractions, std::uint64_t seed) {
    if (!dataset) throw ValueError("random_split: the dataset is null");
    double sum = 0.0;
    for (std::size_t i = 0; i < fractions.size(); ++i) {
        if (!(fractions[i] >= 0.0))
            throw ValueError("random_split: fraction " + std::to_string(i) + " is " + std::to_string(fractions[i]) +
                             "; fractions must be non-negative");
        sum += fractions[i];
    }
    if (std::abs(sum - 1.0) > 1e-6)
        throw ValueError("random_split: fractions add up to " + std::to_string(sum) + ", expected 1");
    const std::size_t n = dataset->size();
    std::vector<std::size_t> lengths(fractions.size());
    std::size_t assigned = 0;
    for (std::size_t i = 0; i < fractions.size(); ++i) {
        lengths[i] = static_cast<std::size_t>(std::floor(fractions[i] * static_cast<double>(n)));
        assigned += lengths[i];
    }
    // Fractions may exceed 1 by the tolerance: take any excess back from the last parts.
    for (std::size_t i = lengths.size(); assigned > n && i-- > 0;) {
        const std::size_t take = std::min(lengths[i], assigned - n);
        lengths[i] -= take;
        assigned -= take;
    }
    for (std::size_t i = 0; assigned < n; i = (i + 1) % lengths.size(), ++assigned) ++lengths[i];
    return random_split(std::move(dataset), lengths, seed);
}

}  // namespace graft::data
