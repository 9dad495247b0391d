// graft::data datasets and the DataLoader: TensorDataset, Subset, random_split, TransformedDataset,
// collate, and the loader's order, epochs, determinism across thread counts, bounded prefetch,
// early exit and error propagation.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using namespace graft::data;

namespace {

/// N samples: input i is [i, i + 0.5, -i] (float32), target i is the label i (0-d int64).
std::shared_ptr<TensorDataset> counting_dataset(std::int64_t n) {
    Tensor idx = arange(static_cast<double>(n), DType::Float32);
    Tensor inputs = stack({idx, idx + 0.5, -idx}, 1);
    return std::make_shared<TensorDataset>(inputs, arange(static_cast<double>(n)));
}

/// The labels of every batch of one pass, in order.
std::vector<std::int64_t> pass_labels(DataLoader& loader) {
    std::vector<std::int64_t> labels;
    for (const Example& batch : loader)
        for (std::int64_t v : batch.target.to_vector<std::int64_t>()) labels.push_back(v);
    return labels;
}

/// Every batch of one pass, inputs and targets flattened to doubles.
std::vector<std::vector<double>> pass_values(DataLoader& loader) {
    std::vector<std::vector<double>> out;
    for (const auto& [x, y] : loader) {
        out.push_back(x.to_vector<double>());
        out.push_back(y.to_vector<double>());
    }
    return out;
}

/// A dataset wrapper that counts get calls, remembers the largest index asked for and the
/// threads that called it, and can sleep or throw at chosen indices.
class ProbeDataset final : public Dataset {
public:
    explicit ProbeDataset(std::shared_ptr<const Dataset> base) : base_(std::move(base)) {}
    std::size_t size() const override { return base_->size(); }
    Example get(std::size_t index) const override {
        calls.fetch_add(1);
        std::size_t seen = max_index.load();
        while (index > seen && !max_index.compare_exchange_weak(seen, index)) {
        }
        {
            std::lock_guard<std::mutex> lock(mutex);
            threads.insert(std::this_thread::get_id());
        }
        if (sleep_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
        if (index == throw_at) {
            if (throw_graft) throw ValueError("probe: bad sample");
            throw std::runtime_error("probe: plain failure");
        }
        return base_->get(index);
    }

    mutable std::atomic<std::size_t> calls{0};
    mutable std::atomic<std::size_t> max_index{0};
    mutable std::mutex mutex;
    mutable std::set<std::thread::id> threads;
    int sleep_us = 0;
    std::size_t throw_at = static_cast<std::size_t>(-1);
    bool throw_graft = false;

private:
    std::shared_ptr<const Dataset> base_;
};

/// Adds N(0, 1) noise drawn from the sample's generator to the input.
Example add_noise(Example ex, Generator& gen) { return {ex.input + randn(ex.input.shape(), DType::Float32, &gen), ex.target}; }

}  // namespace

// ---- seeds ---------------------------------------------------------------------------------

TEST(DataDeriveSeed, DependsOnEverySeedAndKeyAndTheirOrder) {
    EXPECT_EQ(derive_seed(7, {1, 2}), derive_seed(7, {1, 2}));
    EXPECT_NE(derive_seed(7, {1, 2}), derive_seed(7, {2, 1}));
    EXPECT_NE(derive_seed(7, {1, 2}), derive_seed(8, {1, 2}));
    EXPECT_NE(derive_seed(7, {1}), derive_seed(7, {1, 0}));
    EXPECT_NE(derive_seed(7, {}), derive_seed(7, {0}));
    // Neighbouring keys (epochs, sample indices) give distinct seeds.
    std::set<std::uint64_t> seeds;
    for (std::uint64_t e = 0; e < 16; ++e)
        for (std::uint64_t i = 0; i < 256; ++i) seeds.insert(derive_seed(0, {e, i}));
    EXPECT_EQ(seeds.size(), 16u * 256u);
}

// ---- datasets ----------------------------------------------------------------------------

TEST(DataTensorDataset, RowsAreSamples) {
    auto ds = counting_dataset(5);
    ASSERT_EQ(ds->size(), 5u);
    Example ex = ds->get(3);
    EXPECT_EQ(ex.input.shape(), (Shape{3}));
    EXPECT_EQ(ex.input.to_vector<float>(), (std::vector<float>{3.0f, 3.5f, -3.0f}));
    EXPECT_EQ(ex.target.dim(), 0);
    EXPECT_EQ(ex.target.item<std::int64_t>(), 3);
    EXPECT_THROW_MSG(ds->get(5), IndexError, "index 5 is out of range for a dataset of 5 samples");
}

TEST(DataTensorDataset, RejectsMismatchedSizesAndUndefinedInputs) {
    EXPECT_THROW_MSG(TensorDataset(zeros({4, 2}), zeros({3})), ShapeError, "hold 4 samples but targets [3] hold 3");
    EXPECT_THROW_MSG(TensorDataset(scalar_tensor(1.0), Tensor()), ShapeError, "inputs are 0-d");
    EXPECT_THROW(TensorDataset(Tensor(), zeros({3})), ValueError);
    TensorDataset unlabelled(zeros({4, 2}), Tensor());
    EXPECT_FALSE(unlabelled.get(1).target.defined());
}

TEST(DataTensorDataset, DetachesTensorsRequiringGrad) {
    Tensor w = randn({4, 2}).requires_grad_();
    TensorDataset ds(w, zeros({4}));
    EXPECT_FALSE(ds.get(0).input.requires_grad());
}

TEST(DataSubset, MapsIndicesAndValidatesThem) {
    auto base = counting_dataset(10);
    Subset sub(base, {7, 2, 2});
    ASSERT_EQ(sub.size(), 3u);
    EXPECT_EQ(sub.get(0).target.item<std::int64_t>(), 7);
    EXPECT_EQ(sub.get(2).target.item<std::int64_t>(), 2);
    EXPECT_THROW_MSG(sub.get(3), IndexError, "out of range");
    EXPECT_THROW_MSG(Subset(base, {1, 10}), IndexError, "indices[1] = 10 is out of range for a base dataset of 10");
    EXPECT_THROW(Subset(nullptr, {}), ValueError);
}

TEST(DataRandomSplit, PartsAreDisjointCompleteAndSeeded) {
    auto base = counting_dataset(100);
    auto parts = random_split(base, {70, 20, 10}, 5);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0]->size(), 70u);
    EXPECT_EQ(parts[1]->size(), 20u);
    EXPECT_EQ(parts[2]->size(), 10u);
    std::vector<std::size_t> all;
    for (const auto& p : parts) all.insert(all.end(), p->indices().begin(), p->indices().end());
    std::vector<std::size_t> sorted = all;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::size_t> want(100);
    std::iota(want.begin(), want.end(), std::size_t{0});
    EXPECT_EQ(sorted, want);                        // every index exactly once
    EXPECT_NE(all, want);                           // and shuffled
    auto again = random_split(base, {70, 20, 10}, 5);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(again[i]->indices(), parts[i]->indices());
    auto other = random_split(base, {70, 20, 10}, 6);
    EXPECT_NE(other[0]->indices(), parts[0]->indices());
}

TEST(DataRandomSplit, FractionsDealTheRemainderInOrder) {
    auto base = counting_dataset(11);
    auto halves = random_split(base, {0.5, 0.5}, 1);
    EXPECT_EQ(halves[0]->size(), 6u);
    EXPECT_EQ(halves[1]->size(), 5u);
    auto three = random_split(base, std::vector<double>{0.3, 0.3, 0.4}, 1);
    EXPECT_EQ(three[0]->size() + three[1]->size() + three[2]->size(), 11u);
    EXPECT_EQ(three[0]->size(), 4u);  // floor 3, 3, 4 = 10; the one left goes to the first
    EXPECT_EQ(three[2]->size(), 4u);
    // The same seed gives the same permutation whichever overload cut it.
    auto by_length = random_split(base, {6, 5}, 1);
    EXPECT_EQ(by_length[0]->indices(), halves[0]->indices());
}

TEST(DataRandomSplit, RejectsBadLengthsAndFractions) {
    auto base = counting_dataset(10);
    EXPECT_THROW_MSG(random_split(base, {3, 4}, 0), ValueError, "lengths [3, 4] add up to 7, the dataset has 10");
    EXPECT_THROW_MSG(random_split(base, {0.5, 0.4}, 0), ValueError, "fractions add up to 0.9");
    EXPECT_THROW_MSG(random_split(base, {1.5, -0.5}, 0), ValueError, "must be non-negative");
    EXPECT_THROW_MSG(random_split(base, {-1, 11}, 0), ValueError, "length -1 is negative");
}

TEST(DataTransformed, GeneratorDependsOnSeedEpochAndIndexOnly) {
    auto base = counting_dataset(8);
    TransformedDataset ds(base, add_noise, 3);
    const auto a = ds.get_in_epoch(2, 0).input.to_vector<float>();
    EXPECT_EQ(ds.get_in_epoch(2, 0).input.to_vector<float>(), a);   // reproducible
    EXPECT_NE(ds.get_in_epoch(2, 1).input.to_vector<float>(), a);   // another epoch
    EXPECT_NE(ds.get_in_epoch(3, 0).input.to_vector<float>(),
              (ds.get_in_epoch(2, 0).input + 1.0).to_vector<float>());  // another sample, other noise
    TransformedDataset other_seed(base, add_noise, 4);
    EXPECT_NE(other_seed.get_in_epoch(2, 0).input.to_vector<float>(), a);
    EXPECT_EQ(ds.get(2).input.to_vector<float>(), a);  // get() uses epoch 0 until set_epoch
    ds.set_epoch(1);
    EXPECT_EQ(ds.get(2).input.to_vector<float>(), ds.get_in_epoch(2, 1).input.to_vector<float>());
    EXPECT_EQ(ds.get(2).target.item<std::int64_t>(), 2);
    // A Subset forwards the epoch, and the generator keys on the transformed dataset's own index.
    auto shared = std::make_shared<TransformedDataset>(base, add_noise, 3);
    Subset sub(shared, {2});
    EXPECT_EQ(sub.get_in_epoch(0, 0).input.to_vector<float>(), a);
    EXPECT_THROW(TransformedDataset(base, Transform(), 0), ValueError);
}

TEST(DataCollate, StacksInputsAndLabels) {
    auto ds = counting_dataset(4);
    Example batch = collate({ds->get(1), ds->get(3)});
    EXPECT_EQ(batch.input.shape(), (Shape{2, 3}));
    EXPECT_EQ(batch.target.shape(), (Shape{2}));
    EXPECT_EQ(batch.target.dtype(), DType::Int64);
    EXPECT_EQ(batch.target.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(batch.input.to_vector<float>(), (std::vector<float>{1, 1.5f, -1, 3, 3.5f, -3}));
}

TEST(DataCollate, NamesTheSampleThatDoesNotFit) {
    Example a{zeros({3}), scalar_tensor(0, DType::Int64)};
    Example b{zeros({4}), scalar_tensor(1, DType::Int64)};
    EXPECT_THROW_MSG(collate({a, a, b}), ShapeError, "collate: inputs: stack: expects tensors of equal shape");
    EXPECT_THROW_MSG(collate({a, Example{zeros({3}), Tensor()}}), ValueError, "sample 1 has no target");
    EXPECT_THROW_MSG(collate({}), ValueError, "no samples");
    Example unlabelled = collate({Example{zeros({3}), Tensor()}, Example{ones({3}), Tensor()}});
    EXPECT_FALSE(unlabelled.target.defined());
    EXPECT_EQ(unlabelled.input.shape(), (Shape{2, 3}));
}

// ---- DataLoader: order and epochs ---------------------------------------------------------

static_assert(std::input_iterator<DataLoader::Iterator>);
static_assert(std::sentinel_for<DataLoader::Iterator, DataLoader::Iterator>);

TEST(DataLoader, LoopOverATemporaryLoaderAsInTheDesign) {
    auto train_set = counting_dataset(10);
    std::int64_t seen = 0;
    for (auto& [xb, yb] : DataLoader(train_set, {.batch_size = 4, .shuffle = true, .seed = 1})) {
        EXPECT_EQ(xb.dtype(), DType::Float32);
        EXPECT_EQ(yb.dtype(), DType::Int64);
        EXPECT_FALSE(xb.requires_grad());
        seen += yb.size(0);
    }
    EXPECT_EQ(seen, 10);
}

TEST(DataLoader, NestedPassesOverOneLoaderAreIndependent) {
    DataLoader loader(counting_dataset(6), {.batch_size = 3, .shuffle = true, .seed = 3, .num_threads = 2});
    std::vector<std::int64_t> outer;
    std::size_t inner_batches = 0;
    for (const Example& batch : loader) {
        for (std::int64_t v : batch.target.to_vector<std::int64_t>()) outer.push_back(v);
        for (const Example& other : loader) inner_batches += other.target.size(0) == 3 ? 1 : 0;
    }
    EXPECT_EQ(inner_batches, 4u);  // two inner passes (epochs 1, 2) of two batches
    DataLoader replay(counting_dataset(6), {.batch_size = 3, .shuffle = true, .seed = 3});
    EXPECT_EQ(outer, pass_labels(replay));  // the outer pass kept epoch 0's order
}

TEST(DataLoader, SizesAndLastBatch) {
    auto ds = counting_dataset(10);
    DataLoader keep(ds, {.batch_size = 4});
    EXPECT_EQ(keep.size(), 3u);
    EXPECT_EQ(keep.dataset_size(), 10u);
    std::vector<std::int64_t> sizes;
    for (const auto& [x, y] : keep) {
        EXPECT_EQ(x.size(0), y.size(0));
        EXPECT_EQ(x.size(1), 3);
        sizes.push_back(x.size(0));
    }
    EXPECT_EQ(sizes, (std::vector<std::int64_t>{4, 4, 2}));

    DataLoader drop(ds, {.batch_size = 4, .drop_last = true});
    EXPECT_EQ(drop.size(), 2u);
    EXPECT_EQ(pass_labels(drop), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(DataLoader, EverySampleOncePerEpochWithAndWithoutShuffle) {
    auto ds = counting_dataset(53);
    std::vector<std::int64_t> want(53);
    std::iota(want.begin(), want.end(), 0);
    for (std::size_t threads : {1, 3}) {
        DataLoader in_order(ds, {.batch_size = 8, .num_threads = threads});
        EXPECT_EQ(pass_labels(in_order), want);
        DataLoader shuffled(ds, {.batch_size = 8, .shuffle = true, .seed = 9, .num_threads = threads});
        for (int epoch = 0; epoch < 3; ++epoch) {
            std::vector<std::int64_t> got = pass_labels(shuffled);
            EXPECT_NE(got, want) << "epoch " << epoch;
            std::sort(got.begin(), got.end());
            EXPECT_EQ(got, want) << "epoch " << epoch;
        }
        // drop_last with shuffle: 48 distinct samples, a different 5 left out each epoch.
        DataLoader dropping(ds, {.batch_size = 8, .shuffle = true, .drop_last = true, .seed = 9,
                                 .num_threads = threads});
        std::vector<std::int64_t> got = pass_labels(dropping);
        EXPECT_EQ(got.size(), 48u);
        EXPECT_EQ(std::set<std::int64_t>(got.begin(), got.end()).size(), 48u);
    }
}

TEST(DataLoader, EpochsDifferAndRepeatWithTheSameSeed) {
    auto ds = counting_dataset(40);
    DataLoader a(ds, {.batch_size = 5, .shuffle = true, .seed = 11});
    EXPECT_EQ(a.epoch(), 0u);
    const auto e0 = pass_labels(a);
    EXPECT_EQ(a.epoch(), 1u);  // each pass advances the epoch
    const auto e1 = pass_labels(a);
    EXPECT_NE(e0, e1);

    DataLoader b(ds, {.batch_size = 5, .shuffle = true, .seed = 11});
    EXPECT_EQ(pass_labels(b), e0);
    EXPECT_EQ(pass_labels(b), e1);
    b.set_epoch(0);
    EXPECT_EQ(pass_labels(b), e0);
    b.set_epoch(1);
    EXPECT_EQ(pass_labels(b), e1);

    DataLoader c(ds, {.batch_size = 5, .shuffle = true, .seed = 12});
    EXPECT_NE(pass_labels(c), e0);

    // sample_order tells the order ahead of time, and an early break still uses up its epoch.
    auto order = a.sample_order(5);
    a.set_epoch(5);
    for (const Example& batch : a) {
        EXPECT_EQ(batch.target.to_vector<std::int64_t>()[0], static_cast<std::int64_t>(order[0]));
        break;
    }
    EXPECT_EQ(a.epoch(), 6u);
}

TEST(DataLoader, IteratorReportsBatchAndEpoch) {
    DataLoader loader(counting_dataset(7), {.batch_size = 3, .num_threads = 2});
    loader.set_epoch(4);
    auto it = loader.begin();
    EXPECT_EQ(it.epoch(), 4u);
    EXPECT_EQ(it.batch_index(), 0u);
    ++it;
    EXPECT_EQ(it.batch_index(), 1u);
    EXPECT_EQ(it->target.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 4, 5}));
    ++it;
    ++it;
    EXPECT_TRUE(it == loader.end());
    EXPECT_THROW(it.batch_index(), IndexError);
}

TEST(DataLoader, EmptyDatasetHasNoBatches) {
    DataLoader loader(std::make_shared<TensorDataset>(zeros({0, 3}), zeros({0})), {.batch_size = 4});
    EXPECT_EQ(loader.size(), 0u);
    EXPECT_TRUE(loader.begin() == loader.end());
}

TEST(DataLoader, RejectsBadOptions) {
    auto ds = counting_dataset(4);
    EXPECT_THROW_MSG(DataLoader(ds, {.batch_size = 0}), ValueError, "batch_size must be at least 1");
    EXPECT_THROW_MSG(DataLoader(ds, {.prefetch = 0}), ValueError, "prefetch must be at least 1");
    EXPECT_THROW_MSG(DataLoader(nullptr), ValueError, "dataset is null");
}

// ---- DataLoader: threads ------------------------------------------------------------------

TEST(DataLoaderThreads, SameBatchesForAnyThreadCountAndPrefetch) {
    auto augmented = std::make_shared<TransformedDataset>(counting_dataset(61), add_noise, 21);
    DataLoaderOptions base{.batch_size = 7, .shuffle = true, .seed = 2};
    DataLoader reference(augmented, {.batch_size = 7, .shuffle = true, .seed = 2, .num_threads = 1});
    const auto want0 = pass_values(reference);
    const auto want1 = pass_values(reference);
    EXPECT_NE(want0, want1);  // another order and other noise in epoch 1
    for (std::size_t threads : {1, 2, 4}) {
        for (std::size_t prefetch : {1, 4}) {
            DataLoaderOptions opts = base;
            opts.num_threads = threads;
            opts.prefetch = prefetch;
            DataLoader loader(augmented, opts);
            EXPECT_EQ(pass_values(loader), want0) << threads << " threads, prefetch " << prefetch;
            EXPECT_EQ(pass_values(loader), want1) << threads << " threads, prefetch " << prefetch;
        }
    }
}

TEST(DataLoaderThreads, OneThreadLoadsOnTheCallingThreadOnly) {
    auto probe = std::make_shared<ProbeDataset>(counting_dataset(30));
    DataLoader loader(probe, {.batch_size = 4, .prefetch = 3, .num_threads = 1});
    for (const Example& batch : loader) (void)batch;
    EXPECT_EQ(probe->threads, std::set<std::thread::id>{std::this_thread::get_id()});
    EXPECT_EQ(probe->calls.load(), 30u);
}

TEST(DataLoaderThreads, PrefetchBoundsTheBatchesAhead) {
    for (std::size_t prefetch : {1, 2, 3}) {
        auto probe = std::make_shared<ProbeDataset>(counting_dataset(80));
        const std::size_t B = 4;
        DataLoader loader(probe, {.batch_size = B, .prefetch = prefetch, .num_threads = 3});
        std::size_t batch = 0;
        for (const Example& b : loader) {
            (void)b;
            // Give the workers time to run ahead as far as they are allowed to.
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            // Holding batch k, at most batches k+1 … k+prefetch may have been started.
            EXPECT_LT(probe->max_index.load(), (batch + 1 + prefetch) * B) << "prefetch " << prefetch;
            ++batch;
        }
        EXPECT_EQ(batch, 20u);
        EXPECT_EQ(probe->calls.load(), 80u);
    }
}

TEST(DataLoaderThreads, WorkersRunAheadOfTheConsumer) {
    // oneTBB starts one worker fewer than the cores: on one core only the consumer loads.
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs a second core for a worker thread";
    auto probe = std::make_shared<ProbeDataset>(counting_dataset(40));
    DataLoader loader(probe, {.batch_size = 4, .prefetch = 3, .num_threads = 2});
    auto it = loader.begin();
    // Without the consumer asking, the next prefetch batches get assembled. The wait ends as soon
    // as they are; its bound (30 s) only keeps a loaded machine's slow workers from failing it.
    for (int i = 0; i < 6000 && probe->calls.load() < 16; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(probe->calls.load(), 16u);  // batch 0 plus 3 ahead
}

TEST(DataLoaderThreads, BreakingEarlyStopsTheWorkersAndReleasesTheDataset) {
    for (std::size_t threads : {1, 2, 4}) {
        auto probe = std::make_shared<ProbeDataset>(counting_dataset(400));
        probe->sleep_us = 200;
        {
            DataLoader loader(probe, {.batch_size = 8, .prefetch = 4, .num_threads = threads});
            int seen = 0;
            for (const Example& batch : loader) {
                (void)batch;
                if (++seen == 2) break;
            }
            EXPECT_EQ(probe.use_count(), 2) << "the pass still holds the dataset";  // probe + loader
        }
        EXPECT_EQ(probe.use_count(), 1);
        const std::size_t calls = probe->calls.load();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        EXPECT_EQ(probe->calls.load(), calls) << "work continued after the loop ended";
        EXPECT_LE(calls, (2 + 4) * 8u) << threads << " threads";
    }
}

TEST(DataLoaderThreads, ExceptionsReachTheConsumerAtTheirBatch) {
    for (std::size_t threads : {1, 2, 4}) {
        for (bool graft_error : {false, true}) {
            auto probe = std::make_shared<ProbeDataset>(counting_dataset(64));
            probe->throw_at = 37;  // in batch 4 with batch_size 8
            probe->throw_graft = graft_error;
            DataLoader loader(probe, {.batch_size = 8, .prefetch = 3, .num_threads = threads});
            std::vector<std::int64_t> delivered;
            try {
                for (const Example& batch : loader) delivered.push_back(batch.target.to_vector<std::int64_t>()[0]);
                ADD_FAILURE() << "no exception";
            } catch (const ValueError& e) {
                EXPECT_TRUE(graft_error);
                EXPECT_STREQ(e.what(), "DataLoader: epoch 0, batch 4: sample 37: probe: bad sample");
            } catch (const std::runtime_error& e) {
                EXPECT_FALSE(graft_error);
                EXPECT_STREQ(e.what(), "probe: plain failure");
            }
            EXPECT_EQ(delivered, (std::vector<std::int64_t>{0, 8, 16, 24})) << threads << " threads";
            // The loader is usable again afterwards (the next epoch fails at the same sample).
            EXPECT_ANY_THROW(pass_labels(loader));
        }
    }
}

TEST(DataLoaderThreads, FirstBatchErrorIsThrownByBegin) {
    auto probe = std::make_shared<ProbeDataset>(counting_dataset(16));
    probe->throw_at = 1;
    DataLoader loader(probe, {.batch_size = 4, .num_threads = 2});
    EXPECT_THROW(loader.begin(), std::runtime_error);
}

TEST(DataLoaderThreads, CollationErrorsNameTheBatch) {
    // Sample 5's input has another shape: batch 1 (batch_size 4) cannot be stacked.
    class Ragged final : public Dataset {
    public:
        std::size_t size() const override { return 8; }
        Example get(std::size_t i) const override { return {zeros({i == 5 ? 2 : 3}), scalar_tensor(0, DType::Int64)}; }
    };
    DataLoader loader(std::make_shared<Ragged>(), {.batch_size = 4, .num_threads = 2});
    auto it = loader.begin();
    EXPECT_THROW_MSG(++it, ShapeError, "DataLoader: epoch 0, batch 1: collate: inputs: stack");
    EXPECT_TRUE(it == loader.end());
}

TEST(DataLoaderThreads, ConcurrentPassesOverOneDataset) {
    auto augmented = std::make_shared<TransformedDataset>(counting_dataset(50), add_noise, 8);
    DataLoader reference(augmented, {.batch_size = 6, .shuffle = true, .seed = 4, .num_threads = 1});
    const auto want = pass_values(reference);
    std::vector<std::vector<std::vector<double>>> got(3);
    std::vector<std::thread> consumers;
    for (std::size_t t = 0; t < got.size(); ++t)
        consumers.emplace_back([&, t] {
            DataLoader loader(augmented, {.batch_size = 6, .shuffle = true, .seed = 4, .num_threads = 2});
            got[t] = pass_values(loader);
        });
    for (auto& c : consumers) c.join();
    for (const auto& g : got) EXPECT_EQ(g, want);
}
