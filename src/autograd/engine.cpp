// The reverse-mode engine: graph recording, AccumulateGrad, saved tensors, backward.
#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "autograd/frees_saved.hpp"
#include "autograd/nested_backward.hpp"
#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/autograd/saved_memory.hpp"
#include "graft/profiler.hpp"

namespace graft {

namespace {
thread_local bool grad_mode_enabled = true;
/// The callbacks queued by the backward running on this thread (null when none runs).
thread_local std::vector<std::function<void()>>* queued_callbacks = nullptr;

/// autograd::saved_tensor_bytes(): every change of a storage's saved-reference count goes through
/// add_saved_ref / drop_saved_ref below, under this mutex, so a storage is counted exactly while
/// its count is above zero.
std::mutex saved_bytes_mutex;
std::size_t saved_bytes = 0;

void add_saved_ref(Storage& s) {
    const std::lock_guard lock(saved_bytes_mutex);
    s.add_saved_ref();
    if (s.saved_refs() == 1) saved_bytes += s.nbytes();
}

void drop_saved_ref(Storage& s) {
    const std::lock_guard lock(saved_bytes_mutex);
    s.drop_saved_ref();
    if (s.saved_refs() == 0) saved_bytes -= s.nbytes();
}

/// Whether t is the only handle on its memory: nothing else (another Tensor, a view, a saved
/// tensor, a mapped file) can see a write into it. t must be contiguous and span its storage.
bool sole_owner(const Tensor& t) {
    return t.impl_ptr().use_count() == 1 && t.storage().use_count() == 1 && t.storage()->writable() &&
           t.is_contiguous() && t.offset() == 0 &&
           t.storage()->nbytes() == static_cast<std::size_t>(t.numel()) * t.element_size();
}

/// A contiguous copy of `t` in `dtype` (its own dtype by default), outside the graph.
Tensor copy_as(const Tensor& t, std::optional<DType> dtype = std::nullopt) {
    Tensor out = empty(t.shape(), dtype.value_or(t.dtype()));
    detail::copy_elements(out, t, "backward");
    return out;
}

/// Adds a backward's gradient into a leaf's .grad.
class AccumulateGrad final : public Node {
public:
    explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
    const char* name() const override { return "AccumulateGrad"; }
    std::vector<Tensor> apply(const Tensor& grad) override {
        AutogradMeta& meta = leaf_->meta();
        if (!meta.grad) {
            // Own, contiguous storage: backward results may alias each other (AddBackward passes
            // one tensor to both inputs), and the .grad is later accumulated in place. A gradient
            // nothing else refers to is taken as it is.
            meta.grad = sole_owner(grad) ? grad.impl_ptr() : copy_as(grad).impl_ptr();
        } else {
            Tensor accumulated(meta.grad);
            detail::add_elements(accumulated, grad);
            accumulated.storage()->bump_version();
        }
        // A copy: a hook may add or remove hooks.
        const auto hooks = meta.post_accumulate_grad_hooks;
        for (const auto& hook : hooks) hook.second();
        return {};
    }

private:
    std::shared_ptr<TensorImpl> leaf_;
};

/// The node a gradient for `t` flows into: its grad_fn, or its leaf accumulator.
std::shared_ptr<Node> gradient_edge(const Tensor& t) {
    AutogradMeta& meta = t.impl().meta();
    if (meta.grad_fn) return meta.grad_fn;
    if (auto acc = meta.grad_accumulator.lock()) return acc;
    auto acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    acc->input_shapes = {};
    acc->output_shape = t.shape();
    acc->output_dtype = t.dtype();
    meta.grad_accumulator = acc;
    return acc;
}

/// a + b, written into a when the engine's buffer is a's only owner (no new tensor, one pass).
Tensor accumulate(Tensor a, const Tensor& b) {
    if (!a.defined()) return b;
    if (sole_owner(a) && a.dtype() == b.dtype() && a.shape() == b.shape()) {
        detail::add_elements(a, b);
        return a;
    }
    Tensor sum = copy_as(a);
    detail::add_elements(sum, b);
    return sum;
}

/// Node::apply_into for a one-input node: its input gradient added straight into the engine's
/// buffer for the next node, when that buffer is empty or the engine's alone. False: not done
/// (the node has no such path, or the buffer cannot be written), call apply().
bool deliver_in_place(Node& node, const Tensor& grad, std::unordered_map<Node*, Tensor>& buffer) {
    if (node.next.size() != 1 || !node.next[0] || grad.dtype() != node.input_dtypes[0]) return false;
    Tensor& target = buffer[node.next[0].get()];
    if (target.defined() &&
        !(sole_owner(target) && target.dtype() == grad.dtype() && target.shape() == node.input_shapes[0]))
        return false;
    if (!node.apply_into(grad, target)) return false;
    if (target.shape() != node.input_shapes[0])
        throw AutogradError(std::string(node.name()) + ": backward produced a gradient of shape " +
                            shape_str(target.shape()) + " for input 0 of shape " + shape_str(node.input_shapes[0]));
    return true;
}
}  // namespace

bool GradMode::is_enabled() { return grad_mode_enabled; }
void GradMode::set_enabled(bool enabled) { grad_mode_enabled = enabled; }

SavedTensor::SavedTensor(const Tensor& t) {
    if (!t.defined()) return;
    // A detached alias: saving an op's own output must not create a reference cycle.
    tensor_ = t.detach();
    version_ = t.storage()->version();
    add_saved_ref(*t.storage());
}

SavedTensor::SavedTensor(const SavedTensor& other)
    : tensor_(other.tensor_), version_(other.version_), released_(other.released_) {
    if (tensor_.defined()) add_saved_ref(*tensor_.storage());
}

SavedTensor& SavedTensor::operator=(const SavedTensor& other) {
    if (this != &other) {
        SavedTensor copy(other);
        std::swap(tensor_, copy.tensor_);
        std::swap(version_, copy.version_);
        std::swap(released_, copy.released_);
    }
    return *this;
}

SavedTensor::~SavedTensor() {
    if (tensor_.defined()) drop_saved_ref(*tensor_.storage());
}

void SavedTensor::release() {
    if (tensor_.defined()) drop_saved_ref(*tensor_.storage());
    tensor_ = Tensor();
    released_ = true;
}

Tensor SavedTensor::unpack(const char* op) const {
    if (released_)
        throw AutogradError(std::string(op) +
                            ": trying to backward through the graph a second time; its saved tensors were freed "
                            "by the first backward (pass retain_graph=true to it)");
    if (tensor_.defined() && tensor_.storage()->version() != version_)
        throw AutogradError(std::string(op) + ": a tensor of shape " + shape_str(tensor_.shape()) +
                            " saved for the backward was modified by an in-place operation (version " +
                            std::to_string(version_) + " saved, now " +
                            std::to_string(tensor_.storage()->version()) + ")");
    return tensor_;
}

namespace autograd {

std::size_t saved_tensor_bytes() {
    const std::lock_guard lock(saved_bytes_mutex);
    return saved_bytes;
}

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
    if (!GradMode::is_enabled()) return false;
    for (const Tensor* t : inputs)
        if (t != nullptr && t->defined() && t->requires_grad()) return true;
    return false;
}

void record(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs, Tensor& output) {
    node->next.assign(inputs.size(), nullptr);
    node->input_shapes.resize(inputs.size());
    node->input_dtypes.assign(inputs.size(), DType::Float32);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Tensor* t = inputs[i];
        if (t == nullptr || !t->defined()) continue;
        node->input_shapes[i] = t->shape();
        node->input_dtypes[i] = t->dtype();
        if (t->requires_grad()) node->next[i] = gradient_edge(*t);
    }
    node->output_shape = output.shape();
    node->output_dtype = output.dtype();
    node->autocast_dtype = Autocast::dtype();
    AutogradMeta& meta = output.impl().meta();
    meta.requires_grad = true;
    meta.grad_fn = node;
}

std::uint64_t add_post_accumulate_grad_hook(const Tensor& t, std::function<void()> hook) {
    if (!t.defined() || !t.requires_grad() || t.grad_fn())
        throw ValueError("add_post_accumulate_grad_hook: the tensor must be a leaf that requires grad");
    static std::atomic<std::uint64_t> next_id{1};
    const std::uint64_t id = next_id++;
    t.impl().meta().post_accumulate_grad_hooks.emplace_back(id, std::move(hook));
    return id;
}

void remove_post_accumulate_grad_hook(const Tensor& t, std::uint64_t id) {
    if (!t.defined() || !t.impl().autograd) return;
    auto& hooks = t.impl().autograd->post_accumulate_grad_hooks;
    std::erase_if(hooks, [id](const auto& hook) { return hook.first == id; });
}

void queue_callback(std::function<void()> callback) {
    if (queued_callbacks == nullptr)
        throw AutogradError("queue_callback: no backward is running on this thread");
    queued_callbacks->push_back(std::move(callback));
}

}  // namespace autograd

namespace {
/// Installs a backward's callback list for its duration (restoring an enclosing backward's).
class CallbackScope {
public:
    CallbackScope() : previous_(queued_callbacks) { queued_callbacks = &callbacks_; }
    ~CallbackScope() { queued_callbacks = previous_; }
    CallbackScope(const CallbackScope&) = delete;
    CallbackScope& operator=(const CallbackScope&) = delete;
    /// Runs the queued callbacks, those they queue included.
    void run() {
        for (std::size_t i = 0; i < callbacks_.size(); ++i) {
            auto callback = std::move(callbacks_[i]);
            callback();
        }
        callbacks_.clear();
    }

private:
    std::vector<std::function<void()>> callbacks_;
    std::vector<std::function<void()>>* previous_;
};

void run_graph(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph);
}  // namespace

namespace {
/// Set while a node runs whose saved tensors are freed after it (autograd::detail::frees_saved_after_apply).
thread_local bool frees_saved_now = false;

/// Sets frees_saved_now for one apply(), and puts back the enclosing backward's value after it
/// (a checkpoint's nested backward runs inside a node's apply()).
class FreesSavedScope {
public:
    explicit FreesSavedScope(bool frees) : prev_(frees_saved_now) { frees_saved_now = frees; }
    ~FreesSavedScope() { frees_saved_now = prev_; }
    FreesSavedScope(const FreesSavedScope&) = delete;
    FreesSavedScope& operator=(const FreesSavedScope&) = delete;

private:
    bool prev_;
};
}  // namespace

bool autograd::detail::frees_saved_after_apply() { return frees_saved_now; }

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
    CallbackScope callbacks;
    run_graph(roots, grads, retain_graph);
    callbacks.run();
}

void autograd::detail::run_nested_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads) {
    if (queued_callbacks == nullptr) {
        run_backward(roots, grads, false);
        return;
    }
    run_graph(roots, grads, false);
}

namespace {
void run_graph(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
    std::unordered_map<Node*, Tensor> buffer;
    std::unordered_map<Node*, int> pending;  // incoming edges not yet delivered
    std::vector<std::shared_ptr<Node>> root_nodes;

    for (std::size_t r = 0; r < roots.size(); ++r) {
        const Tensor& root = roots[r];
        if (!root.requires_grad())
            throw AutogradError("backward: tensor of shape " + shape_str(root.shape()) +
                                " does not require grad and has no grad_fn (are all its inputs frozen or "
                                "computed under NoGradGuard?)");
        Tensor g = r < grads.size() ? grads[r] : Tensor();
        if (!g.defined()) {
            if (root.numel() != 1)
                throw AutogradError("backward: a gradient can be created implicitly only for one-element outputs; "
                                    "this output has shape " +
                                    shape_str(root.shape()) + ", pass a gradient of that shape");
            g = ones(root.shape(), root.dtype());
        } else {
            if (g.shape() != root.shape())
                throw ShapeError("backward: gradient shape " + shape_str(g.shape()) +
                                 " does not match output shape " + shape_str(root.shape()));
            if (g.dtype() != root.dtype())
                throw DTypeError(std::string("backward: gradient dtype ") + dtype_name(g.dtype()) +
                                 " does not match output dtype " + dtype_name(root.dtype()));
        }
        std::shared_ptr<Node> node = gradient_edge(root);
        buffer[node.get()] = accumulate(std::move(buffer[node.get()]), g);
        root_nodes.push_back(node);
    }

    // Count, for each reachable node, how many edges lead into it.
    std::vector<Node*> stack;
    std::unordered_map<Node*, bool> seen;
    for (auto& n : root_nodes)
        if (!seen[n.get()]) {
            seen[n.get()] = true;
            stack.push_back(n.get());
        }
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        for (auto& next : n->next) {
            if (!next) continue;
            ++pending[next.get()];
            if (!seen[next.get()]) {
                seen[next.get()] = true;
                stack.push_back(next.get());
            }
        }
    }

    std::vector<Node*> ready;
    for (auto& n : root_nodes)
        if (pending[n.get()] == 0 && (ready.empty() || std::find(ready.begin(), ready.end(), n.get()) == ready.end()))
            ready.push_back(n.get());

    NoGradGuard no_grad;
    while (!ready.empty()) {
        Node* node = ready.back();
        ready.pop_back();
        Tensor grad;
        if (auto it = buffer.find(node); it != buffer.end()) {
            grad = std::move(it->second);
            buffer.erase(it);
        }
        std::vector<Tensor> input_grads;
        if (grad.defined()) {
            if (node->released)
                throw AutogradError(std::string("backward: trying to backward through ") + node->name() +
                                    " a second time; the graph was freed by the first backward (pass "
                                    "retain_graph=true to it)");
            if (auto kept = node->retained_output.lock()) {
                Tensor t(kept);
                Tensor prev = t.grad();
                t.set_grad(prev.defined() ? accumulate(copy_as(prev), grad) : copy_as(grad));
            }
            {
                const profiler::Scope scope(node->name());
                // The backward's GEMMs compute in the dtype its forward ran under (graft/autocast.hpp).
                const AutocastGuard autocast(node->autocast_dtype);
                const FreesSavedScope frees(!retain_graph);
                if (!deliver_in_place(*node, grad, buffer)) input_grads = node->apply(grad);
            }
            if (!retain_graph && dynamic_cast<AccumulateGrad*>(node) == nullptr) {
                node->release_saved();
                node->released = true;
            }
        }
        for (std::size_t i = 0; i < node->next.size(); ++i) {
            Node* next = node->next[i].get();
            if (next == nullptr) continue;
            if (i < input_grads.size() && input_grads[i].defined()) {
                const Tensor& g = input_grads[i];
                if (g.shape() != node->input_shapes[i])
                    throw AutogradError(std::string(node->name()) + ": backward produced a gradient of shape " +
                                        shape_str(g.shape()) + " for input " + std::to_string(i) + " of shape " +
                                        shape_str(node->input_shapes[i]));
                Tensor converted = g.dtype() == node->input_dtypes[i] ? g : copy_as(g, node->input_dtypes[i]);
                const profiler::Scope scope("autograd.accumulate");
                buffer[next] = accumulate(std::move(buffer[next]), converted);
            }
            // A node whose inputs all delivered runs (or, having received nothing, just passes
            // the "nothing" on so that its successors' counts still reach zero).
            if (--pending[next] == 0) ready.push_back(next);
        }
    }
}

}  // namespace

}  // namespace graft
