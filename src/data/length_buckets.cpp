// length_bucketed_order: shuffled pools sorted by length, cut into batches, batches shuffled.
#include "graft/data/length_buckets.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "graft/error.hpp"
#include "graft/random.hpp"

namespace graft::data {

namespace {

template <class T>
void shuffle_with(std::vector<T>& v, Generator& gen) {
    for (std::size_t i = v.size(); i > 1; --i) {
        const auto j = static_cast<std::size_t>(gen.randint(0, static_cast<std::int64_t>(i)));
        std::swap(v[i - 1], v[j]);
    }
}

}  // namespace

std::vector<std::size_t> length_bucketed_order(const std::vector<std::size_t>& lengths, std::size_t batch_size,
                                               std::uint64_t epoch, const LengthBucketOptions& options) {
    if (batch_size == 0) throw ValueError("length_bucketed_order: batch_size must be at least 1, got 0");
    if (options.pool_batches == 0) throw ValueError("length_bucketed_order: pool_batches must be at least 1, got 0");
    Generator gen(derive_seed(options.seed, {epoch}));
    std::vector<std::size_t> order(lengths.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    shuffle_with(order, gen);
    const std::size_t pool = options.pool_batches * batch_size;
    for (std::size_t first = 0; first < order.size(); first += pool) {
        const auto begin = order.begin() + static_cast<std::ptrdiff_t>(first);
        const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), first + pool));
        std::stable_sort(begin, end, [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
    }
    // Pools are whole batches but for the last: only the final batch can be short.
    const std::size_t full = order.size() / batch_size;
    std::vector<std::size_t> batches(full);
    std::iota(batches.begin(), batches.end(), std::size_t{0});
    shuffle_with(batches, gen);
    std::vector<std::size_t> out;
    out.reserve(order.size());
    for (std::size_t b : batches)
        out.insert(out.end(), order.begin() + static_cast<std::ptrdiff_t>(b * batch_size),
                   order.begin() + static_cast<std::ptrdiff_t>((b + 1) * batch_size));
    out.insert(out.end(), order.begin() + static_cast<std::ptrdiff_t>(full * batch_size), order.end());
    return out;
}

std::function<std::vector<std::size_t>(std::uint64_t)> length_buckets(std::vector<std::size_t> lengths,
                                                                      std::size_t batch_size,
                                                                      const LengthBucketOptions& options) {
    if (batch_size == 0) throw ValueError("length_buckets: batch_size must be at least 1, got 0");
    if (options.pool_batches == 0) throw ValueError("length_buckets: pool_batches must be at least 1, got 0");
    return [lengths = std::move(lengths), batch_size, options](std::uint64_t epoch) {
        return length_bucketed_order(lengths, batch_size, epoch, options);
    };
}

}  // namespace graft::data
