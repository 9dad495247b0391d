// train::plan_step: a fine-tuning plan's memory and step time from one recorded forward, priced
// with kernel throughput measured on this machine.
#include "graft/train/planner.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "graft/autograd.hpp"
#include "graft/autograd/saved_memory.hpp"
#include "graft/error.hpp"
#include "graft/functional/attention.hpp"
#include "graft/functional/batch_norm.hpp"
#include "graft/functional/conv.hpp"
#include "graft/memory.hpp"
#include "graft/models/gradient_checkpointing.hpp"
#include "graft/ops.hpp"
#include "graft/random.hpp"

namespace graft::train {

namespace {

using Clock = std::chrono::steady_clock;

/// Seconds on the time base's clock: elapsed, or the process's CPU time.
double now_seconds(TimeBase base) {
    if (base == TimeBase::Wall) return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// Median seconds of `reps` calls of fn after `warmup` untimed ones.
template <class F>
double median_seconds(TimeBase base, F&& fn, int warmup, int reps) {
    for (int i = 0; i < warmup; ++i) fn();
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        const double t0 = now_seconds(base);
        fn();
        t.push_back(now_seconds(base) - t0);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

double numel(const Shape& s) {
    return std::accumulate(s.begin(), s.end(), 1.0, [](double a, std::int64_t b) { return a * static_cast<double>(b); });
}

/// One convolution or linear layer of the graph: what it takes to run it again (shapes,
/// arguments, dtypes and the autocast it ran under) and which of input, weight and bias its
/// backward needs.
struct TimedCall {
    enum class Op { Conv2d, Linear };
    Op op = Op::Conv2d;
    Shape input, weight;
    bool bias = false;
    std::vector<std::int64_t> attributes;  // conv2d: Node::attributes() (stride, padding, dilation, groups)
    DType dtype = DType::Float32, weight_dtype = DType::Float32, bias_dtype = DType::Float32;
    DType autocast = DType::Float32;
    std::array<bool, 3> needs{};
    double flop = 0;  // forward multiply-adds × 2

    /// What its forward's cost depends on (its backward's adds `needs`).
    auto forward_key() const {
        return std::tie(op, input, weight, bias, attributes, dtype, weight_dtype, bias_dtype, autocast);
    }
    bool any_needed() const { return needs[0] || needs[1] || (bias && needs[2]); }
    /// The FLOP of its backward: one product per input or weight gradient needed.
    double backward_flop() const { return flop * ((needs[0] ? 1 : 0) + (needs[1] ? 1 : 0)); }
};

/// The work one recorded graph stands for: its ops' forward, and the backward the plan needs.
struct GraphWork {
    std::vector<TimedCall> timed;       // convolutions and linear layers: timed per shape (OpTimer)
    double gemm_fwd = 0, gemm_bwd = 0;  // FLOP of the other GEMM-shaped ops (matmul)
    double attn_fwd = 0, attn_bwd = 0;  // FLOP
    double bytes_fwd = 0, bytes_bwd = 0;
    double transcendental_fwd = 0, transcendental_bwd = 0;  // elements (is_transcendental)
    std::int64_t nodes = 0, checkpoints = 0;
    double largest_gradients = 0;  // bytes: one node's incoming and outgoing non-leaf gradients
};

/// Whether a node is a view's backward (its input gradient mostly aliases its incoming one).
bool is_view(std::string_view name) {
    return name == "ViewBackward" || name == "PermuteBackward" || name == "SliceBackward" || name == "SelectBackward" ||
           name == "ExpandBackward";
}

/// Whether a node's forward and backward evaluate an exponential (or log, tanh, erf) per element,
/// which costs more than moving it once the data is in cache: the unary activations, and
/// BatchNorm with its SiLU fused (its attributes() name the activation).
bool is_transcendental(Node& n) {
    static const std::unordered_set<std::string_view> unary = {
        "SiluBackward", "SigmoidBackward", "GeluBackward", "TanhBackward", "ExpBackward", "LogBackward",
        "SoftplusBackward", "EluBackward", "MishBackward", "LogSigmoidBackward"};
    const std::string_view name = n.name();
    if (unary.contains(name)) return true;
    if (name == "BatchNormBackward") {
        const std::vector<std::int64_t> a = n.attributes();
        return !a.empty() && a[0] == static_cast<std::int64_t>(nn::functional::BatchNormActivation::SiLU);
    }
    return false;
}

/// Adds one node's forward and backward work (the backward only for the inputs that need it).
/// `incoming_in_saved`: the node's incoming gradient is written over a buffer the graph already
/// holds (cross_entropy's gradient over its saved logits), so it adds no bytes of its own.
void count_node(Node& n, GraphWork& w, bool incoming_in_saved) {
    const std::string name = n.name();
    if (name == "AccumulateGrad") return;
    if (name == "CheckpointBackward") {
        ++w.checkpoints;
        return;
    }
    ++w.nodes;
    const std::size_t inputs = n.input_shapes.size();
    auto in_bytes = [&](std::size_t i) { return numel(n.input_shapes[i]) * static_cast<double>(dtype_size(n.input_dtypes[i])); };
    const double out_bytes = numel(n.output_shape) * static_cast<double>(dtype_size(n.output_dtype));
    bool any_needed = false;
    double needed_bytes = 0, needed_activation_bytes = 0;
    for (std::size_t i = 0; i < inputs; ++i)
        if (n.needs_input_grad(i)) {
            any_needed = true;
            needed_bytes += in_bytes(i);
            // A leaf's gradient becomes its .grad (counted with the gradients); the others are in flight.
            if (std::string_view(n.next[i]->name()) != "AccumulateGrad") needed_activation_bytes += in_bytes(i);
        }
    const bool view = is_view(name);
    // While a node runs, its incoming gradient and the input gradients it makes exist together (a
    // view's input gradient mostly aliases its incoming one).
    // cross_entropy's own input gradient is written over its saved logits (see graph_work).
    const bool outgoing_in_saved = name == "CrossEntropyBackward";
    if (!view && any_needed)
        w.largest_gradients = std::max(w.largest_gradients, (incoming_in_saved ? 0.0 : out_bytes) +
                                                                (outgoing_in_saved ? 0.0 : needed_activation_bytes));
    // Convolutions and linear layers are timed by shape (OpTimer); their bias gradient is part of
    // the timed backward.
    auto timed = [&](TimedCall::Op op, double flop) {
        TimedCall c{.op = op,
                    .input = n.input_shapes[0],
                    .weight = n.input_shapes[1],
                    .bias = inputs > 2 && !n.input_shapes[2].empty(),
                    .attributes = op == TimedCall::Op::Conv2d ? n.attributes() : std::vector<std::int64_t>{},
                    .dtype = n.input_dtypes[0],
                    .weight_dtype = n.input_dtypes[1],
                    .bias_dtype = inputs > 2 ? n.input_dtypes[2] : n.input_dtypes[1],
                    .autocast = n.autocast_dtype,
                    .flop = flop};
        for (std::size_t i = 0; i < std::min<std::size_t>(inputs, 3); ++i) c.needs[i] = n.needs_input_grad(i);
        w.timed.push_back(std::move(c));
    };
    if (name == "LinearBackward" && inputs >= 2 && !n.input_shapes[0].empty() && n.input_shapes[1].size() == 2 &&
        !n.output_shape.empty()) {
        timed(TimedCall::Op::Linear, 2.0 * numel(n.output_shape) * static_cast<double>(n.input_shapes[0].back()));
    } else if (name == "MatmulBackward" && inputs >= 2 && !n.input_shapes[0].empty()) {
        const double flop = 2.0 * numel(n.output_shape) * static_cast<double>(n.input_shapes[0].back());
        w.gemm_fwd += flop;
        for (std::size_t i = 0; i < 2; ++i)
            if (n.needs_input_grad(i)) w.gemm_bwd += flop;
    } else if (name == "Conv2dBackward" && inputs >= 2 && n.input_shapes[1].size() == 4 && n.attributes().size() == 7) {
        const Shape& wt = n.input_shapes[1];
        timed(TimedCall::Op::Conv2d, 2.0 * numel(n.output_shape) * numel(wt) / static_cast<double>(wt[0]));
    } else if (name == "ScaledDotProductAttentionBackward" && inputs >= 3 && n.input_shapes[0].size() >= 2) {
        const Shape &q = n.input_shapes[0], &k = n.input_shapes[1], &v = n.input_shapes[2];
        const double rows = numel(q) / static_cast<double>(q.back());
        const double flop = 2.0 * rows * static_cast<double>(k[k.size() - 2]) * static_cast<double>(q.back() + v.back());
        w.attn_fwd += flop;
        // The backward recomputes the scores and forms dV, dP, dQ, dK: five products to two.
        if (any_needed) w.attn_bwd += 2.5 * flop;
    } else if (view) {
        // Views: no bytes forward; the backward writes or sums the gradient once.
        if (any_needed) w.bytes_bwd += out_bytes + needed_bytes;
    } else {
        double all_in = 0;
        for (std::size_t i = 0; i < inputs; ++i) all_in += in_bytes(i);
        w.bytes_fwd += all_in + out_bytes;
        // Reads the incoming gradient and what was saved, writes each needed input gradient.
        if (any_needed) w.bytes_bwd += out_bytes + all_in + needed_bytes;
        if (is_transcendental(n)) {
            w.transcendental_fwd += numel(n.output_shape);
            if (any_needed) w.transcendental_bwd += numel(n.output_shape);
        }
    }
}

GraphWork graph_work(const Tensor& loss) {
    std::vector<Node*> nodes, stack;
    std::unordered_set<Node*> seen;
    if (auto root = loss.grad_fn()) stack.push_back(root.get()), seen.insert(root.get());
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        nodes.push_back(n);
        for (const auto& next : n->next)
            if (next && seen.insert(next.get()).second) stack.push_back(next.get());
    }
    // cross_entropy writes the logits' gradient over its saved logits when the graph is freed
    // after it (a training step's backward): the logits' producer receives it in that buffer,
    // through reshapes of the logits (ViewBackward passes its gradient on as a view). Other view
    // backwards (slice, select, expand) write a new full-size gradient, which stops the chain.
    std::unordered_set<Node*> gradient_in_saved;
    for (Node* n : nodes)
        if (std::string_view(n->name()) == "CrossEntropyBackward" && n->needs_input_grad(0))
            for (Node* p = n->next[0].get(); p != nullptr && gradient_in_saved.insert(p).second;)
                p = std::string_view(p->name()) == "ViewBackward" && p->needs_input_grad(0) ? p->next[0].get() : nullptr;
    GraphWork w;
    for (Node* n : nodes) count_node(*n, w, gradient_in_saved.count(n) > 0);
    return w;
}

/// One recorded forward and loss: its work and the bytes its graph holds beyond the parameters.
struct Trace {
    GraphWork work;
    double saved_bytes = 0;
    double forward_transient_bytes = 0;  // held at the forward's peak and let go of before its end
};

Trace trace(nn::Module& model, const ExampleLoss& loss_fn) {
    const EnableGradGuard grad_mode;
    const Generator::State rng = default_generator().state();
    const std::size_t before = autograd::saved_tensor_bytes();
    Trace t;
    {
        reset_peak_allocated_memory();
        const Tensor loss = loss_fn(model);
        const AllocatedMemory held = allocated_memory();
        t.forward_transient_bytes = static_cast<double>(held.peak_bytes - held.in_use_bytes);
        if (!loss.defined() || loss.numel() != 1)
            throw ValueError("plan_step: the example loss must be a one-element tensor" +
                             (loss.defined() ? ", got shape " + shape_str(loss.shape()) : std::string()));
        if (!loss.requires_grad())
            throw ValueError("plan_step: the example loss does not require grad under this plan (is every parameter frozen?)");
        double saved = static_cast<double>(autograd::saved_tensor_bytes() - before);
        for (const auto& [name, p] : model.named_parameters())
            if (p.storage()->saved_refs() > 0) saved -= static_cast<double>(p.storage()->nbytes());
        t.saved_bytes = std::max(0.0, saved);
        t.work = graph_work(loss);
    }
    default_generator().set_state(rng);
    return t;
}

/// The bytes one step of the example loss takes beyond the parameters, their gradients and the
/// optimizer state, measured by running its forward and backward once from an empty memory cache:
/// the most it held at once of what it let go of by its end (activations, gradients in flight,
/// scratch) or, when more, what the cache kept of those buffers. The cache keeps a freed buffer
/// for the next request of its size class, so a step whose buffers come in many sizes (a CNN's
/// maps at each width and resolution) ends up holding, per class, as many buffers as were ever
/// live at once: more than its peak of live bytes. The parameters' gradients and the default
/// generator are put back; the cache is left holding the step's buffers.
double step_buffer_bytes(nn::Module& model, const ExampleLoss& loss_fn) {
    const EnableGradGuard grad_mode;
    const Generator::State rng = default_generator().state();
    std::vector<std::pair<Tensor, Tensor>> grads;
    for (const auto& [name, p] : model.named_parameters())
        if (p.requires_grad()) grads.emplace_back(p, p.grad());
    for (auto& [p, g] : grads) p.set_grad(Tensor());
    release_cached_memory();
    reset_peak_allocated_memory();
    loss_fn(model).backward();
    const AllocatedMemory held = allocated_memory();
    const double cached = static_cast<double>(memory_cache_stats().cached_bytes);
    for (auto& [p, g] : grads) p.set_grad(g);
    default_generator().set_state(rng);
    return std::max(static_cast<double>(held.peak_bytes - held.in_use_bytes), cached);
}

/// The switch of graft's transformer families: off on a model without block stacks is a no-op.
bool families_switch(nn::Module& m, bool on) {
    const bool was = models::gradient_checkpointing_enabled(m);
    if (on || was) models::set_gradient_checkpointing(m, on);
    return was;
}

/// The model's requires_grad flags and checkpointing switch, put back when the guard ends.
class ModelStateGuard {
public:
    ModelStateGuard(nn::Module& m, std::function<bool(nn::Module&, bool)> checkpointing_switch)
        : model_(m), switch_(checkpointing_switch ? std::move(checkpointing_switch) : families_switch) {
        for (const auto& [name, p] : m.named_parameters()) flags_.emplace_back(p, p.requires_grad());
        // The traced steps run the model as it is: in training mode a BatchNorm updates its
        // running statistics, which must come back as they were.
        for (const auto& [name, b] : m.named_buffers())
            if (b.defined()) buffers_.emplace_back(b, b.clone());
    }
    ~ModelStateGuard() {
        restore_flags();
        const NoGradGuard no_grad;
        for (auto& [b, was] : buffers_) b.copy_(was);
        if (original_) switch_(model_, *original_);
    }
    ModelStateGuard(const ModelStateGuard&) = delete;
    ModelStateGuard& operator=(const ModelStateGuard&) = delete;

    /// Puts the requires_grad flags back as they were when the guard began.
    void restore_flags() {
        for (auto& [p, flag] : flags_) p.requires_grad_(flag);
    }

    void set_checkpointing(bool on) {
        const bool was = switch_(model_, on);
        if (!original_) original_ = was;
    }

private:
    nn::Module& model_;
    std::function<bool(nn::Module&, bool)> switch_;
    std::optional<bool> original_;
    std::vector<std::pair<Tensor, bool>> flags_;
    std::vector<std::pair<Tensor, Tensor>> buffers_;  // each buffer and a copy of its values
};

void apply_freezing(nn::Module& m, const TrainingPlan& plan) {
    auto matches = [](const std::vector<std::string>& globs, const std::string& name) {
        return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return nn::glob_match(g, name); });
    };
    for (const std::string& g : plan.freeze) (void)m.parameters_matching(g);  // ValueError for a glob matching nothing
    for (const std::string& g : plan.unfreeze) (void)m.parameters_matching(g);
    for (auto& [name, p] : m.named_parameters()) {
        if (matches(plan.freeze, name)) p.requires_grad_(false);
        if (matches(plan.unfreeze, name)) p.requires_grad_(true);
    }
}

/// Bytes the optimizer state takes per trainable float32 value, and bytes a step moves per value.
std::pair<double, double> optimizer_bytes(OptimizerKind kind) {
    switch (kind) {
        case OptimizerKind::SGD: return {0, 3 * 4};           // read p, g; write p
        case OptimizerKind::SGDMomentum: return {4, 5 * 4};   // + read/write the momentum
        case OptimizerKind::RMSprop: return {4, 5 * 4};       // + read/write the square average
        case OptimizerKind::Adam:
        case OptimizerKind::AdamW: return {8, 7 * 4};         // + read/write both moments
    }
    return {0, 0};
}

/// The measured cost of one convolution or linear shape: forward and (with what it needs)
/// backward seconds, and the scratch its kernels held beyond its inputs, output and gradients.
struct OpCost {
    double forward_s = 0, backward_s = 0;
    double scratch_bytes = 0;
};

/// Times convolutions and linear layers by shape on this machine, once per distinct shape: their
/// speed depends on the shape far more than one FLOP rate can say. A convolution's maps run from
/// 2×2 to 112×112 with 1×1 to 7×7 kernels or depthwise, and the kernel each shape takes (im2col,
/// batched over N·H·W, Winograd, direct depthwise) is graft's own choice; a linear layer's product
/// may be thin (a LoRA adapter's rank-8 halves run far below the GEMM's peak, and below it by
/// more at two threads than at one) or bf16 with a bf16 or float32 weight.
class OpTimer {
public:
    explicit OpTimer(TimeBase base) : base_(base) {}

    double forward_s(const TimedCall& c) { return cost(c, false).forward_s; }
    double backward_s(const TimedCall& c) { return cost(c, true).backward_s; }
    /// The most scratch any convolution measured so far held (im2col and Winograd buffers; a
    /// linear layer's are a few bytes, or under autocast its operands' bf16 copies, which the
    /// measured step buffers hold).
    double scratch_bytes() const { return scratch_; }

private:
    using Key = std::tuple<TimedCall::Op, Shape, Shape, bool, std::vector<std::int64_t>, DType, DType, DType, DType,
                           std::array<bool, 3>>;

    /// Writes over a buffer larger than the caches (64 MiB, allocated for the first measurement and
    /// freed with the timer), so that a timed run reads its weights and input from memory, as in a
    /// step, where they were last touched ops or a whole step before. Timed on warm caches the
    /// memory-bound convolutions (depthwise, 1×1 on small maps) ran faster than in the step:
    /// MobileNetV2's last blocks were planned at −16 % to −25 %, EfficientNet-B0's at −17 %.
    void evict_caches() {
        if (junk_.empty()) junk_.resize(std::size_t{64} << 20);
        std::memset(junk_.data(), ++junk_value_, junk_.size());
    }

    const OpCost& cost(const TimedCall& c, bool backward) {
        const std::array<bool, 3> needs = backward ? c.needs : std::array<bool, 3>{};
        const Key key = std::tuple_cat(c.forward_key(), std::make_tuple(needs));
        auto it = cache_.find(key);
        if (it == cache_.end()) it = cache_.emplace(key, measure(c, needs)).first;
        if (c.op == TimedCall::Op::Conv2d) scratch_ = std::max(scratch_, it->second.scratch_bytes);
        return it->second;
    }

    OpCost measure(const TimedCall& c, const std::array<bool, 3>& needs) {
        Generator g(17);
        const Tensor x0 = randn(c.input, c.dtype, &g);
        const Tensor w0 = mul(randn(c.weight, DType::Float32, &g), 0.1).to(c.weight_dtype);
        const Tensor b0 = c.bias ? zeros({c.weight[0]}, c.bias_dtype) : Tensor();
        const std::vector<std::int64_t>& a = c.attributes;
        const AutocastGuard autocast(c.autocast);
        const bool any = needs[0] || needs[1] || (c.bias && needs[2]);
        const EnableGradGuard grad_mode;
        OpCost cost;
        // Fresh leaves per run, so that no run adds into the gradient of the one before.
        Tensor x, w, b;
        auto leaves = [&] {
            x = x0.detach().requires_grad_(needs[0]);
            w = w0.detach().requires_grad_(needs[1]);
            b = c.bias ? b0.detach().requires_grad_(needs[2]) : Tensor();
        };
        auto run = [&] {
            if (c.op == TimedCall::Op::Linear) return linear(x, w, b);
            return nn::functional::conv2d(x, w, b, nn::Size2(a[0], a[1]), nn::Size2(a[2], a[3]), nn::Size2(a[4], a[5]), a[6]);
        };
        auto held = [](const Tensor& t) { return t.defined() ? static_cast<double>(t.storage()->nbytes()) : 0.0; };
        leaves();
        const double base = static_cast<double>(allocated_memory().in_use_bytes);
        reset_peak_allocated_memory();
        Tensor y = run();
        double scratch = static_cast<double>(allocated_memory().peak_bytes) - base - held(y);
        if (!any) {
            std::vector<double> fwd;
            (void)run();
            for (int rep = 0; rep < 3; ++rep) {
                evict_caches();
                const double t0 = now_seconds(base_);
                (void)run();
                fwd.push_back(now_seconds(base_) - t0);
            }
            std::sort(fwd.begin(), fwd.end());
            cost.forward_s = fwd[1];
        } else {
            const Tensor gy = randn(y.shape(), y.dtype(), &g);
            reset_peak_allocated_memory();
            const double before = static_cast<double>(allocated_memory().in_use_bytes);
            y.backward(gy);
            scratch = std::max(scratch, static_cast<double>(allocated_memory().peak_bytes) - before -
                                            held(x.grad()) - held(w.grad()) - held(b.defined() ? b.grad() : Tensor()));
            std::vector<double> fwd, bwd;
            for (int rep = 0; rep < 3; ++rep) {
                leaves();
                evict_caches();
                const double t0 = now_seconds(base_);
                y = run();
                const double t1 = now_seconds(base_);
                y.backward(gy);
                const double t2 = now_seconds(base_);
                fwd.push_back(t1 - t0);
                bwd.push_back(t2 - t1);
            }
            std::sort(fwd.begin(), fwd.end());
            std::sort(bwd.begin(), bwd.end());
            cost.forward_s = fwd[1];
            cost.backward_s = bwd[1];
        }
        cost.scratch_bytes = std::max(0.0, scratch);
        return cost;
    }

    TimeBase base_;
    std::map<Key, OpCost> cache_;
    double scratch_ = 0;
    std::vector<unsigned char> junk_;
    unsigned char junk_value_ = 0;
};

}  // namespace

Throughput Throughput::measure(TimeBase time_base) {
    const NoGradGuard no_grad;
    const Generator::State rng = default_generator().state();
    Generator g(1);
    Throughput t;
    t.time_base = time_base;
    {
        const Tensor a = randn({2048, 256}, DType::Float32, &g), b = randn({256, 1024}, DType::Float32, &g);
        const double s = median_seconds(time_base, [&] { (void)matmul(a, b); }, 2, 7);
        t.gemm_gflops = 2.0 * 2048 * 256 * 1024 / s / 1e9;
    }
    {
        const Tensor q = randn({4, 8, 128, 64}, DType::Float32, &g), k = randn({4, 8, 128, 64}, DType::Float32, &g),
                     v = randn({4, 8, 128, 64}, DType::Float32, &g);
        const double s = median_seconds(time_base, [&] { (void)nn::functional::scaled_dot_product_attention(q, k, v); }, 2, 7);
        t.attention_gflops = 2.0 * 4 * 8 * 128 * 128 * (64 + 64) / s / 1e9;
    }
    {
        const std::int64_t n = std::int64_t{1} << 23;
        const Tensor x = randn({n}, DType::Float32, &g), y = randn({n}, DType::Float32, &g);
        const double s = median_seconds(time_base, [&] { (void)add(x, y); }, 2, 7);
        t.bandwidth_gbps = 3.0 * static_cast<double>(n) * 4 / s / 1e9;
    }
    {
        // SiLU over the same n: its time beyond the bytes the add's rate moves is its arithmetic.
        const std::int64_t n = std::int64_t{1} << 23;
        const Tensor x = randn({n}, DType::Float32, &g);
        const double s = median_seconds(time_base, [&] { (void)silu(x); }, 2, 7);
        const double arithmetic = s - 2.0 * static_cast<double>(n) * 4 / (t.bandwidth_gbps * 1e9);
        t.transcendental_gelems = arithmetic > 0 ? static_cast<double>(n) / arithmetic / 1e9 : 0.0;
    }
    {
        const EnableGradGuard grad_mode;
        const Tensor a = ones({4}).requires_grad_();
        const int chain = 200;
        const double s = median_seconds(
            time_base,
            [&] {
                Tensor h = a;
                for (int i = 0; i < chain; ++i) h = mul(h, 1.0001);
                sum(h).backward();
            },
            1, 5);
        t.op_overhead_us = s / (2.0 * chain) * 1e6;
    }
    default_generator().set_state(rng);
    return t;
}

PlanEstimate plan_step(nn::Module& model, const ExampleLoss& loss, const TrainingPlan& plan,
                       const Throughput& throughput) {
    if (!loss) throw ValueError("plan_step: the example loss function is empty");
    if (plan.batch_size < 0 || plan.example_batch_size < 0)
        throw ValueError("plan_step: batch sizes must be non-negative, got batch_size " + std::to_string(plan.batch_size) +
                         " and example_batch_size " + std::to_string(plan.example_batch_size));
    if (throughput.gemm_gflops <= 0 || throughput.attention_gflops <= 0 || throughput.bandwidth_gbps <= 0)
        throw ValueError("plan_step: the throughput is not measured (call train::Throughput::measure())");
    const double scale = plan.batch_size > 0 && plan.example_batch_size > 0
                             ? static_cast<double>(plan.batch_size) / static_cast<double>(plan.example_batch_size)
                             : 1.0;

    std::shared_ptr<nn::Module> copy;
    nn::Module* m = &model;
    if (plan.lora) {
        copy = model.clone();
        nn::apply_lora(*copy, *plan.lora);
        m = copy.get();
    }
    ModelStateGuard state(*m, plan.checkpointing_switch);

    // Every op's forward: all parameters trainable, so each op records a node with its shapes.
    state.set_checkpointing(false);
    for (auto& [name, p] : m->named_parameters())
        if (is_floating(p.dtype())) p.requires_grad_(true);
    const Trace full = trace(*m, loss);

    // The plan: the model's own flags (LoRA's freezing included), then its globs.
    state.restore_flags();
    apply_freezing(*m, plan);
    PlanEstimate est;
    est.label = plan.label;
    const auto [state_per_value, step_bytes_per_value] = optimizer_bytes(plan.optimizer);
    // With plan.bf16, the frozen weights Module::to(BFloat16, {.frozen_only = true}) would store in
    // bf16: those its layers read as bf16 (bf16_weight_names), float32 now; weights already in bf16
    // count their 2 bytes anyway.
    std::unordered_set<const TensorImpl*> bf16_storable;
    if (plan.bf16)
        for (const auto& [path, mod] : m->named_modules())
            for (const std::string& w : mod->bf16_weight_names())
                if (const Tensor* t = mod->find_tensor(w); t && t->defined() && t->dtype() == DType::Float32)
                    bf16_storable.insert(t->impl_ptr().get());
    for (const auto& [name, p] : m->named_parameters()) {
        const auto n = static_cast<std::size_t>(p.numel());
        if (p.requires_grad()) {
            est.trainable_parameters += p.numel();
            est.memory.parameters += n * p.element_size();
            est.memory.gradients += n * sizeof(float);
            est.memory.optimizer_state += static_cast<std::size_t>(static_cast<double>(n) * state_per_value);
        } else {
            est.frozen_parameters += p.numel();
            est.memory.parameters += n * (bf16_storable.contains(p.impl_ptr().get()) ? 2 : p.element_size());
        }
    }
    for (const auto& [name, b] : m->named_buffers()) est.memory.parameters += static_cast<std::size_t>(b.numel()) * b.element_size();

    const Trace planned = trace(*m, loss);  // checkpointing off: the backward the plan needs
    Trace checkpointed;
    if (plan.gradient_checkpointing) {
        state.set_checkpointing(true);
        checkpointed = trace(*m, loss);
    }
    const Trace& kept = plan.gradient_checkpointing ? checkpointed : planned;

    // Work: every op forward, the planned backward, and with checkpointing the recorded ops that
    // run again inside the checkpointed segments.
    const GraphWork& f = full.work;
    const GraphWork& b = planned.work;
    double gemm = f.gemm_fwd + b.gemm_bwd, attn = f.attn_fwd + b.attn_bwd, bytes = f.bytes_fwd + b.bytes_bwd;
    double transcendental = f.transcendental_fwd + b.transcendental_bwd;
    std::int64_t ops = f.nodes + b.nodes;
    // Convolutions and linear layers: each shape timed, its forward as every op runs it, its
    // backward as planned. A bf16 plan times them under bf16 autocast, with the frozen weights
    // in bf16 as Module::to(BFloat16, {.frozen_only = true}) stores them.
    OpTimer timer(throughput.time_base);
    auto as_planned = [&](TimedCall c) {
        if (plan.bf16) {
            c.autocast = DType::BFloat16;
            if (!c.needs[1] && c.weight_dtype == DType::Float32 && c.op == TimedCall::Op::Linear)
                c.weight_dtype = DType::BFloat16;
        }
        return c;
    };
    double conv_s = 0, conv_flop = 0, linear_s = 0, linear_flop = 0;
    auto add = [&](const TimedCall& c, double seconds, double flop) {
        (c.op == TimedCall::Op::Conv2d ? conv_s : linear_s) += seconds;
        (c.op == TimedCall::Op::Conv2d ? conv_flop : linear_flop) += flop;
    };
    for (const TimedCall& c : f.timed) add(c, timer.forward_s(as_planned(c)), c.flop);
    for (const TimedCall& c : b.timed)
        if (c.any_needed()) add(c, timer.backward_s(as_planned(c)), c.backward_flop());
    double recompute_activations = 0;
    if (plan.gradient_checkpointing) {
        const GraphWork& c = checkpointed.work;
        // The timed calls recorded under the plan outside the checkpointed segments run once;
        // those inside run again. Per op kind: the planned trace's forwards less the checkpointed one's.
        for (const auto& [w, sign] : {std::pair{&b, 1.0}, std::pair{&c, -1.0}})
            for (const TimedCall& t : w->timed) add(t, sign * timer.forward_s(as_planned(t)), sign * t.flop);
        gemm += std::max(0.0, b.gemm_fwd - c.gemm_fwd);
        attn += std::max(0.0, b.attn_fwd - c.attn_fwd);
        bytes += std::max(0.0, b.bytes_fwd - c.bytes_fwd);
        transcendental += std::max(0.0, b.transcendental_fwd - c.transcendental_fwd);
        ops += std::max<std::int64_t>(0, b.nodes - c.nodes);
        // During the backward one segment's activations exist again at a time.
        if (c.checkpoints > 0)
            recompute_activations = std::max(0.0, planned.saved_bytes - checkpointed.saved_bytes) / static_cast<double>(c.checkpoints);
    }
    const double workspace = b.largest_gradients + recompute_activations + timer.scratch_bytes();
    est.memory.saved_activations = static_cast<std::size_t>(kept.saved_bytes * scale);
    est.memory.forward_transients = static_cast<std::size_t>(kept.forward_transient_bytes * scale);
    est.memory.workspace = static_cast<std::size_t>(workspace * scale);
    // The step run once as planned (checkpointing included): its buffers with the cache's
    // retention, at the example batch. To the planned batch they grow as the modelled parts do;
    // what the measurement finds beyond those is counted once, not scaled: it holds the
    // parameter-shaped temporaries (a tied embedding's gradient from its second use), which do not
    // grow with the batch, as well as the cache's size-class retention, which does. The
    // measurement also stands where it is below the modelled parts: those add the forward's
    // transients to the backward's workspace, which a checkpointed step never holds together
    // (one block's activations, freed in the forward and recomputed in the backward).
    const double modelled = kept.saved_bytes + kept.forward_transient_bytes + workspace;
    const double measured = step_buffer_bytes(*m, loss);
    if (measured > 0) est.memory.step_buffers = static_cast<std::size_t>(std::max(0.0, measured + modelled * (scale - 1)));

    const double trainable = static_cast<double>(est.trainable_parameters);
    est.work.gemm_gflop = gemm * scale / 1e9;
    est.work.attention_gflop = attn * scale / 1e9;
    est.work.conv_gflop = conv_flop * scale / 1e9;
    est.work.conv_ms = conv_s * scale * 1e3;
    est.work.linear_gflop = linear_flop * scale / 1e9;
    est.work.linear_ms = linear_s * scale * 1e3;
    est.work.other_gb = bytes * scale / 1e9;
    est.work.transcendental_gelems = transcendental * scale / 1e9;
    est.work.optimizer_gb = trainable * (step_bytes_per_value + 4) / 1e9;  // + zero_grad's write
    est.work.ops = ops;

    const double gemm_rate = throughput.gemm_gflops * (plan.bf16 ? plan.bf16_gemm_speedup : 1.0);
    est.step_ms = 1e3 * (est.work.gemm_gflop / gemm_rate + est.work.attention_gflop / throughput.attention_gflops +
                         (est.work.other_gb + est.work.optimizer_gb) / throughput.bandwidth_gbps +
                         (throughput.transcendental_gelems > 0
                              ? est.work.transcendental_gelems / throughput.transcendental_gelems
                              : 0.0)) +
                  est.work.conv_ms + est.work.linear_ms + 1e-3 * throughput.op_overhead_us * static_cast<double>(ops);
    return est;
}

std::string plan_table(const std::vector<PlanEstimate>& estimates) {
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "%-22s %12s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "plan", "trainable", "params",
                  "grads", "optim", "saved", "workspace", "transient", "step bufs", "total MB", "step ms");
    out += line;
    auto mb = [](std::size_t b) { return static_cast<double>(b) / 1e6; };
    for (const PlanEstimate& e : estimates) {
        std::snprintf(line, sizeof line, "%-22s %12lld %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n",
                      e.label.c_str(), static_cast<long long>(e.trainable_parameters), mb(e.memory.parameters),
                      mb(e.memory.gradients), mb(e.memory.optimizer_state), mb(e.memory.saved_activations),
                      mb(e.memory.workspace), mb(e.memory.forward_transients), mb(e.memory.step_buffers),
                      mb(e.memory.total()), e.step_ms);
        out += line;
    }
    return out;
}

}  // namespace graft::train
