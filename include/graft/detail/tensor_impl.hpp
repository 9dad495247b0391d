// graft/detail/tensor_impl.hpp — what a Tensor handle points to (implementation detail).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "graft/dtype.hpp"
#include "graft/storage.hpp"

namespace graft {

using Shape = std::vector<std::int64_t>;

class Node;
struct TensorImpl;

/// Autograd state of one tensor; absent on tensors that never took part in autograd.
struct AutogradMeta {
    bool requires_grad = false;
    std::shared_ptr<Node> grad_fn;            // null for leaves
    std::shared_ptr<TensorImpl> grad;         // accumulated gradient (leaves, or retain_grad)
    std::weak_ptr<Node> grad_accumulator;     // the leaf's AccumulateGrad node, while a graph uses it
    bool retains_grad = false;                // non-leaf that keeps its .grad (retain_grad())
    bool is_view = false;                     // shares storage with a tensor that has history
    // Called (id, hook) after a backward has finished accumulating into this leaf's .grad
    // (autograd::add_post_accumulate_grad_hook).
    std::vector<std::pair<std::uint64_t, std::function<void()>>> post_accumulate_grad_hooks;
};

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Shape strides;  // in elements
    std::int64_t offset = 0;  // in elements
    DType dtype = DType::Float32;
    std::unique_ptr<AutogradMeta> autograd;

    AutogradMeta& meta() {
        if (!autograd) autograd = std::make_unique<AutogradMeta>();
        return *autograd;
    }
};

}  // namespace graft
