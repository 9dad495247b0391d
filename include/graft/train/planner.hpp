// graft/train/planner.hpp — a dry run of a fine-tuning plan: its peak memory and step time,
// estimated without training.
//
//   auto tp = train::Throughput::measure();                    // ~1 s: GEMM, attention, bandwidth, overhead
//   auto loss_of = [&](nn::Module& m) { return models::causal_lm_loss(m.forward(ids), ids); };
//   train::TrainingPlan plan{.freeze = {"transformer.wte.*", "transformer.h.0.*"}, .gradient_checkpointing = true};
//   auto est = train::plan_step(model, loss_of, plan, tp);    // est.memory.total(), est.step_ms
//   std::fputs(train::plan_table({est, …}).c_str(), stdout);
//
// plan_step applies the plan to the model (or to a copy of it when the plan adds LoRA), runs
// forward and loss once on the example batch to record the step's graph, and reads from it:
//   - saved activations: the bytes the graph holds for its backward (autograd::saved_tensor_bytes),
//     the parameters' own storages excluded (and storages another live graph already holds: plan
//     with no other graph alive);
//   - the work of the step, per op class: convolutions and linear layers (each distinct shape
//     run and timed on this machine, forward and the backward the plan needs), matmul and
//     attention FLOPs, and the bytes the other ops move, forward and backward, only the input
//     gradients the plan needs counted (a frozen layer costs its forward only), plus the
//     recomputation that gradient checkpointing adds;
// and prices the rest of the work with the measured Throughput. Parameters, gradients and optimizer state
// follow from the trainable and frozen parameter counts. It then runs the step's forward and
// backward once from an empty memory cache (MemoryEstimate::step_buffers: what the step's buffers
// take with what the cache keeps of them). Nothing is updated: the model's weights, gradients,
// requires_grad flags and buffers (BatchNorm's running statistics) are as they were when
// plan_step returns; the memory cache is left holding the step's buffers, as after a step.
//
// What the estimate leaves out: the process's own size (code, libraries, thread stacks) —
// compare peak RSS with total() + a baseline — and time spent outside ops beyond the per-op
// overhead. docs/memory.md lists the errors measured on the bench
// models.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graft/nn/lora.hpp"
#include "graft/nn/module.hpp"

namespace graft::train {

/// What the calibration's clock counts: elapsed time, or the CPU time of the whole process (on a
/// machine others share, a one-thread run's CPU time is the steadier figure; compare it with the
/// step's CPU time).
enum class TimeBase { Wall, ProcessCpu };

/// Kernel throughput of this machine, measured by a short calibration.
struct Throughput {
    double gemm_gflops = 0;       ///< float32 GEMM of a transformer-sized product
    double attention_gflops = 0;  ///< scaled_dot_product_attention of a transformer-sized batch
    double bandwidth_gbps = 0;    ///< a large elementwise op: bytes read and written per second
    double op_overhead_us = 0;    ///< one tiny op or backward node (dispatch, allocation, recording)
    /// Elements per second (in G) of a transcendental activation's arithmetic beyond its memory
    /// traffic (SiLU forward: exp and a division per element); 0 prices those ops by bytes alone.
    double transcendental_gelems = 0;
    /// The clock the calibration used; plan_step times convolution shapes on the same one.
    TimeBase time_base = TimeBase::Wall;
    /// Runs the calibration (about a second; the thread count in force is the one measured): the
    /// median of several runs of each kernel.
    static Throughput measure(TimeBase time_base = TimeBase::Wall);
};

enum class OptimizerKind { SGD, SGDMomentum, Adam, AdamW, RMSprop };

/// What a fine-tuning run does with the model.
struct TrainingPlan {
    std::string label = {};                    ///< the table's row name
    /// Parameter-name globs frozen, on top of the model's own requires_grad flags.
    std::vector<std::string> freeze = {};
    std::vector<std::string> unfreeze = {};    ///< globs made trainable again after `freeze`
    /// LoRA adapters: nn::apply_lora (which freezes the rest) on a copy of the model, then the globs.
    std::optional<nn::LoraConfig> lora = {};
    bool gradient_checkpointing = false;  ///< blocks checkpointed (through checkpointing_switch)
    /// Turns the model's checkpointing on or off and returns whether it was on. Empty: graft's
    /// transformer families' switch (models::set_gradient_checkpointing); a model of one's own that
    /// checkpoints its blocks passes its own. The planner traces with checkpointing off for the work
    /// and on for the saved memory, and puts the switch back as it found it.
    std::function<bool(nn::Module&, bool)> checkpointing_switch = {};
    std::int64_t batch_size = 0;          ///< planned batch; 0: the example's (see example_batch_size)
    std::int64_t example_batch_size = 0;  ///< batch of the example the loss function runs; 0: same as planned
    OptimizerKind optimizer = OptimizerKind::AdamW;
    /// Frozen weights held in bf16, as Module::to(DType::BFloat16, {.frozen_only = true}) stores them
    /// (2 bytes each: the GEMM and embedding weights; biases and norm weights stay float32), and
    /// the step under bf16 autocast: convolutions and linear layers timed so (a frozen linear
    /// weight in bf16), matmul at gemm_gflops · bf16_gemm_speedup. A model already converted
    /// counts its bf16 weights at 2 bytes either way; a step traced under autocast is timed as
    /// it ran.
    bool bf16 = false;
    double bf16_gemm_speedup = 1.0;       ///< matmul: measured fp32 GEMM time / bf16 GEMM time
};

/// Peak memory of a training step, by what holds it (bytes).
struct MemoryEstimate {
    std::size_t parameters = 0;         ///< every parameter and buffer, each at its dtype's size (see TrainingPlan::bf16)
    std::size_t gradients = 0;          ///< one float32 .grad per trainable parameter
    std::size_t optimizer_state = 0;    ///< e.g. AdamW's two moments per trainable parameter
    std::size_t saved_activations = 0;  ///< what the graph keeps from forward to backward
    std::size_t workspace = 0;          ///< gradients in flight during the backward, convolution scratch
    /// Buffers the forward let go of before its end (a frozen prefix's activations, temporaries):
    /// the memory cache keeps them for reuse, so the process holds them too.
    std::size_t forward_transients = 0;
    /// The step's own buffers (the three above and what the memory cache keeps of them) as one
    /// forward and backward of the example, run from an empty cache, took them; 0 if not measured.
    std::size_t step_buffers = 0;
    /// Parameters, gradients and optimizer state, plus the step's buffers: measured when they
    /// were, else the modelled saved activations, workspace and forward transients.
    std::size_t total() const {
        const std::size_t modelled = saved_activations + workspace + forward_transients;
        return parameters + gradients + optimizer_state + (step_buffers > 0 ? step_buffers : modelled);
    }
};

/// The work of one step, as counted from the graph (at the planned batch).
struct StepWork {
    /// matmul, forward + backward (+ recomputation) GFLOP, priced at Throughput::gemm_gflops
    double gemm_gflop = 0;
    double attention_gflop = 0;  ///< scaled_dot_product_attention, forward + backward
    double conv_gflop = 0;       ///< conv2d, forward + the planned backward (+ recomputation)
    double conv_ms = 0;          ///< the same convolutions, each shape timed on this machine
    double linear_gflop = 0;     ///< linear layers, forward + the planned backward (+ recomputation)
    double linear_ms = 0;        ///< the same linear layers, each shape timed on this machine
    double other_gb = 0;         ///< bytes moved by the other ops, forward + backward
    /// Elements that transcendental activations (SiLU, sigmoid, GELU, tanh, exp, log; BatchNorm's
    /// fused SiLU) compute, forward + backward, in G: priced at transcendental_gelems on top of
    /// their bytes.
    double transcendental_gelems = 0;
    double optimizer_gb = 0;     ///< bytes the optimizer step and zero_grad move
    std::int64_t ops = 0;        ///< forward ops + backward nodes run
};

struct PlanEstimate {
    std::string label;
    std::int64_t trainable_parameters = 0, frozen_parameters = 0;
    MemoryEstimate memory;
    StepWork work;
    double step_ms = 0;  ///< estimated time of zero_grad, forward, loss, backward, optimizer step
};

/// The loss of the example batch for a model: forward and loss, e.g.
/// `[&](nn::Module& m) { return cross_entropy(m.forward(x), y); }`.
using ExampleLoss = std::function<Tensor(nn::Module&)>;

/// Estimates `plan` for `model` (see the file comment). ValueError when the loss is not a
/// one-element tensor that requires grad under the plan (everything frozen) or a size is negative.
PlanEstimate plan_step(nn::Module& model, const ExampleLoss& loss, const TrainingPlan& plan,
                       const Throughput& throughput);

/// A text table, one row per estimate: trainable parameters, the memory parts and total in MB,
/// the estimated step time in ms.
std::string plan_table(const std::vector<PlanEstimate>& estimates);

}  // namespace graft::train
