// graft/data/subset.hpp — a view of some samples of a dataset (Subset), and random_split.
//
//   auto parts = data::random_split(full, {0.8, 0.2}, /*seed=*/1);   // or exact sizes: {800, 200}
//   auto train = parts[0], val = parts[1];                           // disjoint, together all of full
//   data::Subset firsts(full, {0, 1, 2});                            // any list of indices
//
// A Subset shares its base dataset (no samples are copied) and forwards get_in_epoch, so a
// subset of an augmented dataset stays augmented per epoch.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "graft/data/dataset.hpp"

namespace graft::data {

/// Sample i of a Subset is sample indices()[i] of the base dataset.
class Subset final : public Dataset {
public:
    /// ValueError for a null base; IndexError naming the position of any index ≥ base->size().
    /// Repeated indices are allowed (oversampling).
    Subset(std::shared_ptr<const Dataset> base, std::vector<std::size_t> indices);

    std::size_t size() const override { return indices_.size(); }
    Example get(std::size_t index) const override;
    Example get_in_epoch(std::size_t index, std::uint64_t epoch) const override;

    const std::vector<std::size_t>& indices() const { return indices_; }
    const std::shared_ptr<const Dataset>& base() const { return base_; }

private:
    std::shared_ptr<const Dataset> base_;
    std::vector<std::size_t> indices_;
};

/// Splits a random permutation of `dataset`'s indices into consecutive parts of the given
/// lengths, which must add up to dataset->size() (ValueError otherwise). The permutation depends
/// only on `seed`.
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<std::size_t>& lengths, std::uint64_t seed);

/// As above with fractions that add up to 1 (within 1e-6; ValueError otherwise, or for a negative
/// fraction). Part i gets floor(fraction_i · N) samples; the remainder is dealt one by one to the
/// parts in order, as torch.utils.data.random_split does.
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<double>& fractions, std::uint64_t seed);

/// Lets a braced list of integers, random_split(ds, {800, 200}, seed), pick the lengths overload
/// (without it the call is ambiguous between the two vectors). ValueError for a negative length.
template <std::integral I>
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  std::initializer_list<I> lengths, std::uint64_t seed) {
    std::vector<std::size_t> sizes;
    sizes.reserve(lengths.size());
    for (I length : lengths) {
        if (length < 0) throw ValueError("random_split: length " + std::to_string(length) + " is negative");
        sizes.push_back(static_cast<std::size_t>(length));
    }
    return random_split(std::move(dataset), sizes, seed);
}

/// Lets a braced list of fractions, random_split(ds, {0.8, 0.2}, seed), pick the fractions overload.
template <std::floating_point F>
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  std::initializer_list<F> fractions, std::uint64_t seed) {
    return random_split(std::move(dataset), std::vector<double>(fractions.begin(), fractions.end()), seed);
}

}  // namespace graft::data
