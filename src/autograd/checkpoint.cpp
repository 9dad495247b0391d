// autograd::checkpoint: a segment whose forward records no graph and whose backward recomputes
// it (with the random generators replayed) and backpropagates through the recomputed graph.
#include "graft/autograd/checkpoint.hpp"

#include <memory>
#include <string>
#include <utility>

#include "autograd/nested_backward.hpp"
#include "graft/error.hpp"

namespace graft::autograd {

namespace {

using SegmentFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// The states of the generators a segment draws from, taken when its forward starts.
struct GeneratorStates {
    Generator::State default_state;
    std::vector<Generator*> extra;
    std::vector<Generator::State> extra_states;

    static GeneratorStates capture(const std::vector<Generator*>& generators) {
        GeneratorStates s{default_generator().state(), generators, {}};
        for (Generator* g : generators) s.extra_states.push_back(g->state());
        return s;
    }
};

/// Puts the generators back to the states of a segment's forward for its lifetime, then returns
/// them to where the backward found them (so the replay consumes nothing from their streams).
class GeneratorReplay {
public:
    explicit GeneratorReplay(const GeneratorStates& states) : default_(default_generator()) {
        resume_default_ = default_.state();
        default_.set_state(states.default_state);
        for (std::size_t i = 0; i < states.extra.size(); ++i) {
            Generator* g = states.extra[i];
            resume_.emplace_back(g, g->state());
            g->set_state(states.extra_states[i]);
        }
    }
    ~GeneratorReplay() {
        for (auto it = resume_.rbegin(); it != resume_.rend(); ++it) it->first->set_state(it->second);
        default_.set_state(resume_default_);
    }
    GeneratorReplay(const GeneratorReplay&) = delete;
    GeneratorReplay& operator=(const GeneratorReplay&) = delete;

private:
    Generator& default_;
    Generator::State resume_default_;
    std::vector<std::pair<Generator*, Generator::State>> resume_;
};

// y = fn(x₀ … xₙ₋₁)  ⇒  recompute y with grad mode on from detached xᵢ, backpropagate dy through
// it (parameters inside fn accumulate their .grad there); dxᵢ = the detached xᵢ's gradient
struct CheckpointBackward final : Node {
    CheckpointBackward(SegmentFn f, const std::vector<Tensor>& inputs, GeneratorStates states)
        : fn(std::move(f)), rng(std::move(states)) {
        for (const Tensor& t : inputs) saved.emplace_back(t);
    }
    const char* name() const override { return "CheckpointBackward"; }

    std::vector<Tensor> apply(const Tensor& grad) override {
        std::vector<Tensor> replay_inputs;
        for (std::size_t i = 0; i < saved.size(); ++i) {
            Tensor t = saved[i].unpack(name());
            if (t.defined()) {
                t = t.detach();
                if (needs_input_grad(i)) t.requires_grad_(true);
            }
            replay_inputs.push_back(std::move(t));
        }
        Tensor out;
        {
            const GeneratorReplay replay(rng);
            const EnableGradGuard grad_mode;
            out = fn(replay_inputs);
        }
        if (!out.defined() || out.shape() != output_shape || out.dtype() != output_dtype)
            throw AutogradError(std::string(name()) + ": the segment recomputed in the backward returned " +
                                (out.defined() ? "shape " + shape_str(out.shape()) + " " + dtype_name(out.dtype())
                                               : std::string("an undefined tensor")) +
                                ", its forward returned " + shape_str(output_shape) + " " + dtype_name(output_dtype) +
                                " (the function must compute the same thing when called again)");
        if (!out.requires_grad())
            throw AutogradError(std::string(name()) +
                                ": the segment recomputed in the backward does not require grad, its forward did "
                                "(were its parameters frozen between forward and backward?)");
        detail::run_nested_backward({out}, {grad});
        std::vector<Tensor> grads(saved.size());
        for (std::size_t i = 0; i < saved.size(); ++i)
            if (needs_input_grad(i)) grads[i] = replay_inputs[i].grad();
        return grads;
    }

    void release_saved() override {
        for (auto& s : saved) s.release();
        fn = nullptr;
    }

    SegmentFn fn;
    std::vector<SavedTensor> saved;
    GeneratorStates rng;
};

}  // namespace

Tensor checkpoint(const SegmentFn& fn, const std::vector<Tensor>& inputs, const CheckpointOptions& options) {
    if (!fn) throw ValueError("checkpoint: the segment function is empty");
    for (std::size_t i = 0; i < options.generators.size(); ++i)
        if (options.generators[i] == nullptr)
            throw ValueError("checkpoint: generator " + std::to_string(i) + " of the options is null");
    if (!GradMode::is_enabled()) return fn(inputs);

    GeneratorStates states = GeneratorStates::capture(options.generators);
    bool input_needs_grad = false;
    for (const Tensor& t : inputs) input_needs_grad = input_needs_grad || (t.defined() && t.requires_grad());
    Tensor out;
    if (input_needs_grad) {
        const NoGradGuard no_grad;
        out = fn(inputs);
    } else {
        // Only a parameter inside fn can make the output require grad; recording the segment's graph
        // is how to find out. The graph is dropped right away, so the segment's activations are held
        // only while it runs.
        out = fn(inputs);
        if (!out.defined() || !out.requires_grad()) return out;
    }
    if (!out.defined()) throw ValueError("checkpoint: the segment function returned an undefined tensor");
    // A fresh handle: fn may return one of its inputs, whose own history must stay as it is.
    out = out.detach();
    if (!is_floating(out.dtype())) return out;

    auto node = std::make_shared<CheckpointBackward>(fn, inputs, std::move(states));
    std::vector<const Tensor*> edges;
    for (const Tensor& t : inputs) edges.push_back(&t);
    record(node, edges, out);
    return out;
}

}  // namespace graft::autograd
