// graft/autograd/checkpoint.hpp — gradient checkpointing: trade one more forward for the
// activations a segment of the graph would keep.
//
//   auto y = autograd::checkpoint([&](const Tensor& h) { return block.forward(h); }, x);
//   loss(y).backward();   // block's forward runs again here, its graph is backpropagated and freed
//
// checkpoint(fn, inputs) runs fn without recording its graph and keeps only its inputs (and the
// state of the random generators fn draws from). The backward runs fn again with the generators
// replayed and grad mode on, and backpropagates the output's gradient through that recomputed
// graph: parameters used inside fn get their .grad there, the inputs' gradients flow on. So
// outputs and every gradient equal those of calling fn directly, bit for bit, dropout included,
// while between forward and backward the segment holds only its inputs instead of every
// activation its ops saved.
//
// fn must compute the same thing when called again: the same modules in the same train/eval
// mode, the same captured values, no side effects that change what it reads (a KV cache, a
// running-statistics update in batch norm would happen twice). The generators replayed are the
// calling thread's default generator (dropout, random factories) and the ones listed in
// CheckpointOptions::generators. Under NoGradGuard, checkpoint is just fn(inputs).
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <tuple>
#include <utility>
#include <vector>

#include "graft/autograd.hpp"
#include "graft/random.hpp"
#include "graft/tensor.hpp"

namespace graft::autograd {

struct CheckpointOptions {
    /// Generators fn draws from besides the default one; their states are replayed too.
    std::vector<Generator*> generators;
};

/// A checkpointed segment: `fn(inputs)` whose graph is recomputed in the backward (see above).
/// Inputs may be undefined, integer, or not require grad; they are kept as they are. The output
/// requires grad when an input or a parameter fn uses does. A second backward through it
/// without retain_graph is an AutogradError, as for any graph; modifying an input in place
/// between forward and backward is an AutogradError naming CheckpointBackward.
Tensor checkpoint(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs,
                  const CheckpointOptions& options = {});

/// The same for a function of tensors: checkpoint(fn, x, mask) calls fn(x, mask).
template <class Fn, class... Inputs>
    requires(sizeof...(Inputs) > 0 && (std::convertible_to<const Inputs&, const Tensor&> && ...) &&
             std::invocable<Fn&, const Inputs&...>)
Tensor checkpoint(Fn&& fn, const Inputs&... inputs) {
    auto call = [f = std::forward<Fn>(fn)](const std::vector<Tensor>& in) mutable -> Tensor {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return Tensor(f(in[I]...));
        }(std::index_sequence_for<Inputs...>{});
    };
    return checkpoint(std::function<Tensor(const std::vector<Tensor>&)>(std::move(call)),
                      std::vector<Tensor>{Tensor(inputs)...});
}

}  // namespace graft::autograd
