// graft/data/dataset.hpp — samples and the datasets that hold them: Example, Dataset, TensorDataset.
//
//   auto train = std::make_shared<data::TensorDataset>(features, labels);   // [N, F] float, [N] int64
//   data::Example ex = train->get(3);       // ex.input: [F], ex.target: 0-d int64
//   std::size_t n = train->size();          // N
//
// A Dataset maps an index in [0, size()) to one Example. get() is const and must be safe to call
// from several threads at once: the DataLoader assembles batches in parallel. A batch is an
// Example whose tensors carry a leading batch dimension (see graft/data/dataloader.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "graft/tensor.hpp"

namespace graft::data {

/// One sample (or, with a leading batch dimension, one batch). `target` may be undefined for
/// unlabelled data. `fields` holds named tensors that go with `input` (a text batch's
/// "attention_mask" and "token_type_ids", graft/data/text_dataset.hpp); collate stacks them too.
/// `auto [x, y] = example` binds input and target (the tuple protocol below leaves fields out).
struct Example {
    Tensor input;
    Tensor target;
    std::map<std::string, Tensor> fields = {};
};

/// get<0> is the input, get<1> the target: what structured bindings of an Example bind.
template <std::size_t I>
const Tensor& get(const Example& e) {
    static_assert(I < 2, "an Example binds two tensors: input and target");
    if constexpr (I == 0) return e.input;
    else return e.target;
}
template <std::size_t I>
Tensor& get(Example& e) {
    static_assert(I < 2, "an Example binds two tensors: input and target");
    if constexpr (I == 0) return e.input;
    else return e.target;
}
template <std::size_t I>
Tensor&& get(Example&& e) {
    return std::move(get<I>(e));
}

/// Random access to samples. Implementations must make get() thread-safe.
class Dataset {
public:
    virtual ~Dataset() = default;
    /// Number of samples.
    virtual std::size_t size() const = 0;
    /// Sample `index` (IndexError when index ≥ size()).
    virtual Example get(std::size_t index) const = 0;
    /// Sample `index` as seen in epoch `epoch`. Datasets whose samples change per epoch (random
    /// augmentation, see TransformedDataset) override it; wrappers forward it. The DataLoader
    /// calls this, so augmentation differs between epochs yet is reproducible. Default: get(index).
    virtual Example get_in_epoch(std::size_t index, std::uint64_t epoch) const;
};

/// Samples are the rows (dimension 0) of two tensors: get(i) = {inputs[i], targets[i]}.
/// The returned tensors are views of the dataset's storage (no copy): transforms must not write
/// into them in place.
class TensorDataset final : public Dataset {
public:
    /// ShapeError when either tensor is 0-d or their sizes along dimension 0 differ; ValueError
    /// when `inputs` is undefined. `targets` may be undefined (unlabelled data). Both are detached.
    TensorDataset(Tensor inputs, Tensor targets);

    std::size_t size() const override;
    Example get(std::size_t index) const override;

    /// All inputs [N, …] and all targets [N, …] (undefined when unlabelled).
    const Tensor& inputs() const { return inputs_; }
    const Tensor& targets() const { return targets_; }

private:
    Tensor inputs_;
    Tensor targets_;
};

/// Throws IndexError "`who`: index `index` is out of range for a dataset of `size` samples".
void check_index(std::size_t index, std::size_t size, const char* who);

}  // namespace graft::data

template <>
struct std::tuple_size<graft::data::Example> : std::integral_constant<std::size_t, 2> {};
template <std::size_t I>
struct std::tuple_element<I, graft::data::Example> {
    using type = graft::Tensor;
};
