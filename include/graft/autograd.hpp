// graft/autograd.hpp — the define-by-run reverse-mode engine.
//
//   auto w = randn({10, 4}).requires_grad_();
//   auto loss = sum(matmul(x, w.t()));
//   loss.backward();                 // w.grad() holds dL/dw; the graph is freed
//   { NoGradGuard g; auto y = matmul(x, w.t()); }   // no graph recorded
//
// Every op that gets an input requiring grad records one Node holding only what its
// backward needs. Nodes know which inputs need a gradient (needs_input_grad) and compute
// only those, so a frozen weight costs no gradient work.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graft/autocast.hpp"
#include "graft/tensor.hpp"

namespace graft {

/// Whether ops record graph nodes on this thread (default: yes).
struct GradMode {
    static bool is_enabled();
    static void set_enabled(bool enabled);
};

/// Disables graph recording for its lifetime (inference, optimizer updates).
class NoGradGuard {
public:
    NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
    ~NoGradGuard() { GradMode::set_enabled(prev_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool prev_;
};

/// Re-enables graph recording for its lifetime (inside a NoGradGuard).
class EnableGradGuard {
public:
    EnableGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
    ~EnableGradGuard() { GradMode::set_enabled(prev_); }
    EnableGradGuard(const EnableGradGuard&) = delete;
    EnableGradGuard& operator=(const EnableGradGuard&) = delete;

private:
    bool prev_;
};

/// A tensor an op keeps for its backward. It remembers the storage version at save time;
/// unpacking after an in-place write, or after the graph was freed, is an AutogradError.
class SavedTensor {
public:
    SavedTensor() = default;
    explicit SavedTensor(const Tensor& t);
    SavedTensor(const SavedTensor& other);
    SavedTensor& operator=(const SavedTensor& other);
    ~SavedTensor();
    /// The saved value; `op` names the node in error messages.
    Tensor unpack(const char* op) const;
    /// Frees the saved value (the graph is being released).
    void release();
    /// Whether something was saved (true after release too).
    bool defined() const { return tensor_.defined() || released_; }

private:
    Tensor tensor_;
    std::uint64_t version_ = 0;
    bool released_ = false;
};

/// One recorded op: its backward maps the gradient of its output to gradients of its inputs.
class Node {
public:
    virtual ~Node() = default;

    /// The op's name as shown in errors ("MulBackward").
    virtual const char* name() const = 0;

    /// Gradients for each input, in input order; an undefined Tensor where
    /// needs_input_grad(i) is false. Runs with grad mode off.
    virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;

    /// Optional fast path for one-input nodes whose input gradient is grad_output written into
    /// part of an otherwise zero tensor (slice, narrow, select, and so split and chunk): adds
    /// that gradient in place into `buffer`, the gradient gathered so far for the input, and
    /// returns true. `buffer` is undefined when nothing was gathered yet (the node then creates
    /// it, zero outside its part); otherwise it is contiguous, of the input's shape and dtype,
    /// and seen by nothing but the engine. So the parts of a split add their gradients into one
    /// tensor, with no full-size zero tensor per part. grad_output has the input's dtype. The
    /// default returns false, and the engine calls apply() instead. Runs with grad mode off.
    virtual bool apply_into(const Tensor& /*grad_output*/, Tensor& /*buffer*/) { return false; }

    /// Drops saved tensors once the graph has been used (retain_graph=false).
    virtual void release_saved() {}

    /// The op's integer arguments other than its tensors, for tools that re-run or price an op from
    /// its node (train::plan_step times each convolution shape): a convolution's {stride_h,
    /// stride_w, pad_h, pad_w, dilation_h, dilation_w, groups}. Empty for ops that need none.
    virtual std::vector<std::int64_t> attributes() const { return {}; }

    /// Whether input i leads to anything that needs a gradient.
    bool needs_input_grad(std::size_t i) const { return i < next.size() && next[i] != nullptr; }

    /// Per input: the node its gradient flows to (nullptr: no gradient needed).
    std::vector<std::shared_ptr<Node>> next;
    /// Per input: its shape and dtype, to check what apply() returns.
    std::vector<Shape> input_shapes;
    std::vector<DType> input_dtypes;
    /// Set once the saved tensors were released; a second backward then fails clearly.
    bool released = false;
    /// The non-leaf tensor that asked to keep its gradient (retain_grad()), if any.
    std::weak_ptr<TensorImpl> retained_output;
    /// Shape and dtype of the output, to validate the incoming gradient.
    Shape output_shape;
    DType output_dtype = DType::Float32;
    /// The autocast dtype when the node was recorded: its backward's GEMMs compute in it.
    DType autocast_dtype = DType::Float32;
};

/// Runs the backward pass from `roots`, each seeded with its gradient (an undefined
/// gradient means ones, allowed for one-element roots only).
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph);

namespace autograd {

/// Whether an op with these inputs must record a node (grad mode on and an input requires grad).
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);

/// Links `node` to `inputs` (their grad_fn or AccumulateGrad), records their metadata,
/// and makes `output` its result. No-op unless any input requires grad and grad mode is on.
void record(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs, Tensor& output);

/// Calls `hook` each time a backward has finished accumulating into the leaf `t`'s .grad: once
/// per backward that reaches t, after all of that backward's contributions are summed into it
/// (PyTorch's register_post_accumulate_grad_hook). Hooks run on the thread running backward, in
/// the order they were added; one that throws ends the backward with its exception. Returns an id
/// for remove_post_accumulate_grad_hook. ValueError unless t is a leaf that requires grad.
std::uint64_t add_post_accumulate_grad_hook(const Tensor& t, std::function<void()> hook);
/// Removes the hook with this id from t (nothing when it is not there).
void remove_post_accumulate_grad_hook(const Tensor& t, std::uint64_t id);

/// Runs `callback` once when the backward now running on this thread has run every node, just
/// before it returns (PyTorch's queue_callback); callbacks run in the order queued. A backward that
/// throws drops its queued callbacks. AutogradError when no backward is running.
void queue_callback(std::function<void()> callback);

/// Convenience: creates NodeT(args...), records it and returns it (or nullptr when not recording).
template <class NodeT, class... Args>
std::shared_ptr<NodeT> make_node(const std::vector<const Tensor*>& inputs, Tensor& output, Args&&... args) {
    bool needed = false;
    for (const Tensor* t : inputs)
        if (t != nullptr && t->defined() && t->requires_grad()) needed = true;
    if (!needed || !GradMode::is_enabled()) return nullptr;
    auto node = std::make_shared<NodeT>(std::forward<Args>(args)...);
    record(node, inputs, output);
    return node;
}

}  // namespace autograd

}  // namespace graft
