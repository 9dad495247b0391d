// DataLoader: options, the per-epoch sample order, and the iterator over a BatchPass.
#include "graft/data/dataloader.hpp"

#include <numeric>
#include <string>

#include "data/batch_pass.hpp"
#include "graft/random.hpp"
#include "graft/runtime.hpp"

namespace graft::data {

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
    if (!dataset_) throw ValueError("DataLoader: the dataset is null");
    if (options_.batch_size == 0) throw ValueError("DataLoader: batch_size must be at least 1, got 0");
    if (options_.prefetch == 0) throw ValueError("DataLoader: prefetch must be at least 1, got 0");
    if (options_.sampler) options_.sampler->validate();
}

std::size_t DataLoader::size() const {
    const std::size_t n = options_.sampler ? options_.sampler->shard_size(dataset_->size()) : dataset_->size();
    const std::size_t b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<std::size_t> DataLoader::sample_order(std::uint64_t epoch) const {
    std::vector<std::size_t> order;
    if (options_.order) {
        order = options_.order(epoch);
        std::vector<bool> seen(dataset_->size(), false);
        bool permutation = order.size() == seen.size();
        for (std::size_t i = 0; permutation && i < order.size(); ++i) {
            permutation = order[i] < seen.size() && !seen[order[i]];
            if (permutation) seen[order[i]] = true;
        }
        if (!permutation)
            throw ValueError("DataLoader: options.order(" + std::to_string(epoch) + ") returned " +
                             std::to_string(order.size()) + " indices that are not a permutation of the dataset's " +
                             std::to_string(seen.size()));
    } else {
        order.resize(dataset_->size());
        std::iota(order.begin(), order.end(), std::size_t{0});
    }
    if (options_.shuffle && !options_.order) {
        Generator gen(derive_seed(options_.seed, {epoch}));
        for (std::size_t i = order.size(); i > 1; --i) {
            const auto j = static_cast<std::size_t>(gen.randint(0, static_cast<std::int64_t>(i)));
            std::swap(order[i - 1], order[j]);
        }
    }
    if (options_.sampler) order = options_.sampler->shard(order);
    if (options_.drop_last) order.resize(order.size() / options_.batch_size * options_.batch_size);
    return order;
}

DataLoader::Iterator DataLoader::begin() {
    const std::uint64_t epoch = next_epoch_++;
    const std::size_t threads =
        options_.num_threads != 0 ? options_.num_threads : static_cast<std::size_t>(get_num_threads());
    auto pass = std::make_shared<detail::BatchPass>(dataset_, sample_order(epoch), options_.batch_size,
                                                    options_.prefetch, threads, epoch, options_.collate);
    pass->advance();
    return Iterator(std::move(pass));
}

// ---- Iterator ----------------------------------------------------------------------------

DataLoader::Iterator::Iterator(std::shared_ptr<detail::BatchPass> pass) : pass_(std::move(pass)) {}

bool DataLoader::Iterator::at_end() const { return !pass_ || pass_->finished(); }

const Example& DataLoader::Iterator::operator*() const { return pass_->current(); }

DataLoader::Iterator& DataLoader::Iterator::operator++() {
    if (!at_end()) pass_->advance();
    return *this;
}

bool operator==(const DataLoader::Iterator& a, const DataLoader::Iterator& b) {
    if (a.at_end() || b.at_end()) return a.at_end() && b.at_end();
    return a.pass_ == b.pass_;  // copies of one pass are always at the same batch
}

std::size_t DataLoader::Iterator::batch_index() const {
    if (at_end()) throw IndexError("DataLoader::Iterator::batch_index: the iterator is at the end");
    return pass_->batch_index();
}

std::uint64_t DataLoader::Iterator::epoch() const {
    if (!pass_) throw ValueError("DataLoader::Iterator::epoch: a default-constructed iterator has no epoch");
    return pass_->epoch();
}

}  // namespace graft::data
