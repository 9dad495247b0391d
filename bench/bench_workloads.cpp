// bench_workloads — the reference workloads of docs/performance.md, one line each:
// `name  median_ms` (and GFLOP/s for the GEMMs), the format a PyTorch twin of the workloads prints
// too, so the two give comparable tables (bench/compare.sh puts them side by side). A training
// step's line adds `cpu X ms`: the median CPU time of the process (all threads) per step, the
// steadier figure on a shared machine with --threads 1.
//
//   build/bench/bench_workloads                      # every workload, the default thread count
//   build/bench/bench_workloads --threads 1 --filter mlp
//   build/bench/bench_workloads --reps 3 --warmup 1  # quicker, noisier
//   build/bench/bench_workloads --filter gpt --profile 5   # + where each step's time goes
//   build/bench/bench_workloads --filter gpt_full --checkpoint   # the GPT's blocks checkpointed
//   build/bench/bench_workloads --filter gpt_full --bf16   # under bf16 autocast
//   build/bench/bench_workloads --filter real_llama_lora --bf16 --bf16-frozen   # + the frozen base in bf16
//
// --profile N runs N more steps of each training workload under graft::profiler and prints the
// step's wall and CPU time (on a shared machine the CPU time of a one-thread run is the steadier
// figure), the ops by self time per step, then one `split` line: the step's time in GEMMs (linear, matmul,
// conv2d and their backward nodes), attention, norms, loss, the optimizer (step and zero_grad),
// the other ops (elementwise, copies, views, gradient accumulation), and `outside` — the wall
// time of the step not spent inside any graft op (the bench's own code, allocator, dispatch
// between ops).
//
// Each workload runs `warmup` untimed steps, then `reps` timed ones, and
// prints the median. A training step is zero_grad, forward, loss, backward and an AdamW step over
// the trainable parameters. The last line is the process's peak resident memory.
//
// --checkpoint runs the GPT workloads with every block checkpointed (autograd::checkpoint), named
// with a `_ckpt` suffix. Each GPT workload also prints `saved_activations  X MB`: what one step's
// graph holds for its backward between forward and backward, parameters excluded.
//
// --bf16-frozen stores the frozen weights of the LoRA and last-block workloads (real_llama_lora_step,
// gpt_last_block_step) in bf16 once the model is built and frozen:
// model.to(DType::BFloat16, {.frozen_only = true}) (docs/mixed-precision.md).
//
// --plan runs the dry-run planner (graft/train/planner.hpp) on each training workload before timing
// it and prints a `plan` line: the estimated step time and peak memory next to the measured median
// and peak resident memory. The peak is measured per workload (the kernel's high-water mark is
// reset before it, /proc/self/clear_refs), and compared with the resident memory before the model
// existed plus the planner's total; and the planner's total against the most graft itself held at
// once (graft::allocated_memory(): tensors and kernel scratch, without the buffers the memory
// cache keeps for reuse). Run one workload per process (--filter) for clean figures.
// With one thread (--threads 1) both the calibration and the step are timed in CPU time.
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>


#include "workloads.hpp"

namespace {

using namespace graft;
using Clock = std::chrono::steady_clock;

struct Options {
    int threads = 0;  // 0: graft's default
    int reps = 10;
    int warmup = 3;
    std::string filter;
    int profile = 0;  // steps to profile per training workload (0: none)
    bool checkpoint = false;  // the GPT's blocks through autograd::checkpoint
    bool plan = false;        // the planner's estimate next to each training workload's figures
    bool bf16 = false;  // every workload under AutocastGuard(DType::BFloat16)
    bool bf16_frozen = false;  // frozen weights of the partly frozen workloads stored in bf16
};

/// A field of /proc/self/status in kB ("VmRSS", "VmHWM"); 0 when it cannot be read.
double status_kb(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string key;
    double value = 0;
    while (in >> key) {
        if (key == field + ":") {
            in >> value;
            return value;
        }
        in.ignore(1 << 12, '\n');
    }
    return 0;
}

/// Resets the process's peak resident memory (VmHWM) to its current resident memory.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

/// Bytes of a model's parameters and buffers.
double model_bytes(const nn::Module& m) {
    double b = 0;
    for (const auto& [name, p] : m.named_parameters()) b += static_cast<double>(p.numel() * p.element_size());
    for (const auto& [name, t] : m.named_buffers()) b += static_cast<double>(t.numel() * t.element_size());
    return b;
}

/// The process's CPU time so far (all threads), in ms.
double process_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Median wall and CPU (process, all threads) milliseconds of the timed runs.
struct Timing {
    double wall_ms, cpu_ms;
};

Timing time_ms(const std::function<void()>& fn, const Options& o) {
    for (int i = 0; i < o.warmup; ++i) fn();
    std::vector<double> wall, cpu;
    for (int i = 0; i < o.reps; ++i) {
        const auto t0 = Clock::now();
        const double c0 = process_cpu_ms();
        fn();
        cpu.push_back(process_cpu_ms() - c0);
        wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    return {median(wall), median(cpu)};
}

double median_ms(const std::function<void()>& fn, const Options& o) { return time_ms(fn, o).wall_ms; }

/// A training step over the trainable parameters: zero_grad, forward, loss, backward, and a step
/// of `opt` (AdamW with lr 1e-3 when none is given).
std::function<void()> step_fn(nn::Module& model, const Tensor& x, const Tensor& y,
                              std::function<Tensor(const Tensor&, const Tensor&)> loss_fn,
                              std::shared_ptr<optim::Optimizer> opt = nullptr) {
    if (!opt) opt = std::make_shared<optim::AdamW>(model.trainable_parameters(), optim::AdamWOptions{.lr = 1e-3});
    return [&model, x, y, loss_fn, opt] {
        opt->zero_grad();
        Tensor loss = loss_fn(model.forward(x), y);
        loss.backward();
        opt->step();
    };
}

/// The part of a step an op's time belongs to, for the `split` line.
std::string category(const std::string& op) {
    auto any = [&](std::initializer_list<const char*> names) {
        for (const char* n : names)
            if (op.rfind(n, 0) == 0) return true;
        return false;
    };
    if (any({"linear", "matmul", "conv2d", "LinearBackward", "MatmulBackward", "Conv2dBackward"})) return "gemm";
    if (any({"scaled_dot_product_attention", "ScaledDotProductAttentionBackward"})) return "attention";
    if (any({"layer_norm", "rms_norm", "batch_norm", "LayerNormBackward", "RmsNormBackward", "BatchNormBackward"}))
        return "norms";
    if (any({"cross_entropy", "CrossEntropyBackward", "nll_loss", "NllLossBackward", "log_softmax",
             "LogSoftmaxBackward"}))
        return "loss";
    if (op.find(".step") != std::string::npos || op == "zero_grad") return "optimizer";
    return "other";
}

/// Runs `steps` steps of fn under the profiler and prints the per-op table and the split.
void profile_steps(const std::string& name, const std::function<void()>& fn, int steps) {
    fn();  // warm: buffers and optimizer state exist before recording
    profiler::Profile prof;
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    const auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) fn();
    const double wall = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / steps;
    getrusage(RUSAGE_SELF, &after);
    auto cpu_ms = [](const rusage& r) {
        return 1e3 * static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
               1e-3 * static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
    };
    std::printf("-- profile %s: %d steps, %.3f ms per step (wall), %.3f ms CPU time (all threads), %.0f page "
                "faults per step\n%s",
                name.c_str(), steps, wall, (cpu_ms(after) - cpu_ms(before)) / steps,
                static_cast<double>(after.ru_minflt - before.ru_minflt) / steps, prof.table(20, steps).c_str());
    std::map<std::string, double> split;
    for (const auto& s : prof.stats()) split[category(s.name)] += s.self_ms / steps;
    const double inside = prof.self_total_ms() / steps;
    std::printf("split %s:", name.c_str());
    for (const char* c : {"gemm", "attention", "norms", "loss", "optimizer", "other"})
        std::printf("  %s %.2f ms (%.0f%%)", c, split[c], 100.0 * split[c] / wall);
    std::printf("  outside %.2f ms (%.0f%%)\n", wall - inside, 100.0 * (wall - inside) / wall);
    std::fflush(stdout);
}

Tensor ce(const Tensor& out, const Tensor& y) { return bench::F::cross_entropy(out, y); }

/// Bytes the graph of one forward and loss holds for its backward, the parameters' own storages
/// excluded (the graph is freed before returning).
std::size_t saved_activation_bytes(nn::Module& model, const Tensor& x, const Tensor& y,
                                   const std::function<Tensor(const Tensor&, const Tensor&)>& loss_fn) {
    const std::size_t before = autograd::saved_tensor_bytes();
    const Tensor loss = loss_fn(model.forward(x), y);
    std::size_t saved = autograd::saved_tensor_bytes() - before;
    for (const auto& [name, p] : model.named_parameters())
        if (p.storage()->saved_refs() > 0) saved -= p.storage()->nbytes();
    return saved;
}

void usage(const char* argv0) {
    std::printf("usage: %s [--threads N] [--filter SUBSTRING] [--reps N] [--warmup N] [--profile STEPS] "
                "[--checkpoint] [--plan] [--bf16] [--bf16-frozen]\n"
                "Times the reference workloads of docs/performance.md; one line each: name  median_ms.\n"
                "--bf16 runs them under AutocastGuard(DType::BFloat16) (docs/mixed-precision.md).\n"
                "--bf16-frozen stores the frozen weights of real_llama_lora_step and gpt_last_block_step in bf16.\n",
                argv0);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bench_workloads: %s needs a value\n", k.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (k == "--help" || k == "-h") {
            usage(argv[0]);
            return 0;
        } else if (k == "--threads") o.threads = std::stoi(value());
        else if (k == "--reps") o.reps = std::max(1, std::stoi(value()));
        else if (k == "--warmup") o.warmup = std::max(0, std::stoi(value()));
        else if (k == "--filter") o.filter = value();
        else if (k == "--profile") o.profile = std::max(0, std::stoi(value()));
        else if (k == "--checkpoint") o.checkpoint = true;
        else if (k == "--plan") o.plan = true;
        else if (k == "--bf16") o.bf16 = true;
        else if (k == "--bf16-frozen") o.bf16_frozen = true;
        else {
            std::fprintf(stderr, "bench_workloads: unknown option %s (see --help)\n", k.c_str());
            return 2;
        }
    }
    if (o.threads > 0) set_num_threads(o.threads);
    // The workloads run on this thread: one guard covers every step, forward and backward.
    const AutocastGuard autocast(o.bf16 ? DType::BFloat16 : DType::Float32);
    std::printf("graft threads=%d isa=%s autocast=%s frozen_weights=%s\n", get_num_threads(), active_isa(),
                dtype_name(Autocast::dtype()), o.bf16_frozen ? "bfloat16" : "float32");
    // The frozen weights of a partly frozen model in bf16 under --bf16-frozen.
    auto store_frozen = [&](nn::Module& m) {
        if (o.bf16_frozen) m.to(DType::BFloat16, {.frozen_only = true});
    };
    auto want = [&](const std::string& name) { return o.filter.empty() || name.find(o.filter) != std::string::npos; };
    auto want_any = [&](std::initializer_list<const char*> names) {
        return std::any_of(names.begin(), names.end(), [&](const char* n) { return want(n); });
    };
    auto report = [](const std::string& name, double ms) { std::printf("%s  %.3f ms\n", name.c_str(), ms), std::fflush(stdout); };
    // Times a training workload, then profiles it when asked.
    auto run_step = [&](const std::string& name, const std::function<void()>& fn) {
        const Timing t = time_ms(fn, o);
        std::printf("%s  %.3f ms  cpu %.3f ms\n", name.c_str(), t.wall_ms, t.cpu_ms);
        std::fflush(stdout);
        if (o.profile > 0) profile_steps(name, fn, o.profile);
        return t;
    };
    std::optional<train::Throughput> throughput;
    // With --plan: the planner's estimate for the workload, then the workload timed, then both
    // side by side. Without: the workload timed.
    auto run_planned = [&](const std::string& name, nn::Module& model, const train::ExampleLoss& loss,
                           train::TrainingPlan plan, const std::function<void()>& fn) {
        if (!o.plan) return (void)run_step(name, fn);
        // One thread: CPU time on both sides, which other users of a shared machine do not inflate.
        const bool cpu = get_num_threads() == 1;
        if (!throughput) {
            throughput = train::Throughput::measure(cpu ? train::TimeBase::ProcessCpu : train::TimeBase::Wall);
            std::printf("throughput  gemm %.1f GFLOP/s  attention %.1f GFLOP/s  bandwidth %.1f GB/s  op %.2f us"
                        "  transcendental %.2f G elements/s\n",
                        throughput->gemm_gflops, throughput->attention_gflops, throughput->bandwidth_gbps,
                        throughput->op_overhead_us, throughput->transcendental_gelems);
        }
        plan.label = name;
        const train::PlanEstimate est = train::plan_step(model, loss, plan, *throughput);
        // The planning's freed buffers back to the system: the cache's, and the heap pages malloc
        // keeps (the worker threads' arenas), which the step would reuse inside the baseline.
        release_cached_memory();
        malloc_trim(0);
        const double before_model_mb = status_kb("VmRSS") / 1024.0 - model_bytes(model) / (1024.0 * 1024.0);
        reset_peak_rss();
        reset_peak_allocated_memory();
        const Timing t = run_step(name, fn);
        const double held_peak_mb = static_cast<double>(allocated_memory().peak_bytes) / (1024.0 * 1024.0);
        const double ms = cpu ? t.cpu_ms : t.wall_ms;
        const double peak_mb = status_kb("VmHWM") / 1024.0;
        const double est_peak_mb = before_model_mb + static_cast<double>(est.memory.total()) / (1024.0 * 1024.0);
        // What graft holds at its peak, modelled: without the memory cache's retention.
        const train::MemoryEstimate& em = est.memory;
        const double est_held_mb = static_cast<double>(em.parameters + em.gradients + em.optimizer_state + em.saved_activations +
                                                       em.workspace + em.forward_transients) /
                                   (1024.0 * 1024.0);
        std::printf("plan %s  est %.1f ms  measured %.1f ms %s  (%+.0f%%)  est_peak %.0f MB  measured_peak %.0f MB  (%+.0f%%)"
                    "  est_held %.0f MB  held_peak %.0f MB  (%+.0f%%)"
                    "  [params %.1f grads %.1f optim %.1f saved %.1f workspace %.1f transient %.1f step_buffers %.1f MB, linear %.2f GFLOP in %.1f ms, matmul %.2f GFLOP,"
                    " attn %.2f GFLOP, conv %.2f GFLOP in %.1f ms, other %.3f GB, transcendental %.3f G elements, %lld ops]\n",
                    name.c_str(), est.step_ms, ms, cpu ? "CPU" : "wall", 100.0 * (est.step_ms / ms - 1), est_peak_mb, peak_mb,
                    100.0 * (est_peak_mb / peak_mb - 1), est_held_mb, held_peak_mb, 100.0 * (est_held_mb / held_peak_mb - 1),
                    est.memory.parameters / 1e6, est.memory.gradients / 1e6, est.memory.optimizer_state / 1e6,
                    est.memory.saved_activations / 1e6, est.memory.workspace / 1e6, est.memory.forward_transients / 1e6,
                    est.memory.step_buffers / 1e6, est.work.linear_gflop, est.work.linear_ms, est.work.gemm_gflop,
                    est.work.attention_gflop, est.work.conv_gflop, est.work.conv_ms, est.work.other_gb + est.work.optimizer_gb,
                    est.work.transcendental_gelems, static_cast<long long>(est.work.ops));
        std::fflush(stdout);
    };
    auto example_loss = [](const Tensor& x, const Tensor& y, std::function<Tensor(const Tensor&, const Tensor&)> loss_fn) {
        return train::ExampleLoss([x, y, loss_fn](nn::Module& m) { return loss_fn(m.forward(x), y); });
    };

    manual_seed(0);
    for (std::int64_t n : {256, 512, 1024, 2048}) {
        const std::string name = "gemm_" + std::to_string(n);
        if (!want(name)) continue;
        const Tensor a = randn({n, n}), b = randn({n, n});
        const double ms = median_ms([&] { (void)matmul(a, b); }, o);
        std::printf("%s  %.3f ms  %.1f GFLOP/s\n", name.c_str(), ms, 2.0 * double(n * n * n) / (ms * 1e6));
        std::fflush(stdout);
    }

    if (want_any({"mlp_full_step", "mlp_head_only_step", "mlp_inference"})) {
        nn::Sequential mlp = bench::make_mlp();
        const Tensor x = randn({256, 784}), y = randint(0, 10, {256});
        if (want("mlp_full_step"))
            run_planned("mlp_full_step", mlp, example_loss(x, y, ce), {}, step_fn(mlp, x, y, ce));
        mlp.freeze("0.*").freeze("2.*");
        if (want("mlp_head_only_step")) run_step("mlp_head_only_step", step_fn(mlp, x, y, ce));
        if (want("mlp_inference")) {
            NoGradGuard no_grad;
            report("mlp_inference", median_ms([&] { (void)mlp.forward(x); }, o));
        }
    }
    release_cached_memory();
    if (want("cnn_full_step")) {
        bench::Cnn cnn;
        const Tensor x = randn({64, 3, 32, 32}), y = randint(0, 10, {64});
        run_planned("cnn_full_step", cnn, example_loss(x, y, ce), {}, step_fn(cnn, x, y, ce));
    }
    // Each model's buffers go back to the system before the next model runs, so the peak
    // resident memory below is the largest workload's, not the sum of what the cache kept.
    release_cached_memory();
    if (want_any({"gpt_full_step", "gpt_last_block_step"})) {
        bench::Gpt gpt;
        gpt.checkpoint_blocks = o.checkpoint;
        const std::string suffix = o.checkpoint ? "_ckpt" : "";
        const Tensor idx = randint(0, 256, {16, 128}), tgt = randint(0, 256, {16, 128});
        auto gpt_step = [&](const std::string& name) {
            std::printf("saved_activations %s  %.1f MB\n", (name + suffix).c_str(),
                        static_cast<double>(saved_activation_bytes(gpt, idx, tgt, bench::lm_loss)) / 1e6);
            const train::TrainingPlan plan{
                .gradient_checkpointing = o.checkpoint, .checkpointing_switch = [](nn::Module& m, bool on) {
                    auto& model = dynamic_cast<bench::Gpt&>(m);
                    return std::exchange(model.checkpoint_blocks, on);
                }};
            run_planned(name + suffix, gpt, example_loss(idx, tgt, bench::lm_loss), plan,
                        step_fn(gpt, idx, tgt, bench::lm_loss));
        };
        if (want("gpt_full_step")) gpt_step("gpt_full_step");
        gpt.freeze();
        gpt.unfreeze("blocks.3.*").unfreeze("lnf.*").unfreeze("head.*");
        store_frozen(gpt);
        if (want("gpt_last_block_step")) gpt_step("gpt_last_block_step");
    }

    // The real-architecture workloads (bench/pytorch/real_workloads.py defines them): torchvision's
    // CNNs on 112×112 images with a new 10-class head, SGD (lr 0.01, momentum 0.9) over the
    // trainable parameters; a last-stage step trains ResNet's layer4 and fc (MobileNetV2's last
    // three blocks and classifier, EfficientNet-B0's last three stages and classifier), the frozen
    // BatchNorms in eval.
    auto sgd = [](nn::Module& m) {
        return std::make_shared<optim::SGD>(m.trainable_parameters(), optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
    };
    auto resnet_step = [&](const std::string& name, models::ResNet (*factory)(const models::ResNetOptions&),
                           std::int64_t batch, int frozen_stages) {
        if (!want(name)) return;
        release_cached_memory();
        models::ResNet net = factory({.num_classes = 10});
        net.train();
        if (frozen_stages > 0) net.freeze_stages(frozen_stages);
        const Tensor x = randn({batch, 3, 112, 112}), y = randint(0, 10, {batch});
        run_planned(name, net, example_loss(x, y, ce), {.optimizer = train::OptimizerKind::SGDMomentum},
                    step_fn(net, x, y, ce, sgd(net)));
    };
    resnet_step("real_resnet18_full_step", models::resnet18, 16, 0);
    resnet_step("real_resnet18_last_stage_step", models::resnet18, 16, 3);
    resnet_step("real_resnet50_last_stage_step", models::resnet50, 8, 3);
    if (want("real_mobilenet_v2_last_blocks_step")) {
        // features.16, features.17, features.18 and the classifier trainable: features.0–15 frozen.
        release_cached_memory();
        models::MobileNetV2 net = models::mobilenet_v2({.num_classes = 10});
        net.train();
        net.freeze_stages(15);
        const Tensor x = randn({16, 3, 112, 112}), y = randint(0, 10, {16});
        run_planned("real_mobilenet_v2_last_blocks_step", net, example_loss(x, y, ce), {.optimizer = train::OptimizerKind::SGDMomentum},
                    step_fn(net, x, y, ce, sgd(net)));
    }
    if (want("real_efficientnet_b0_last_blocks_step")) {
        // features.6 (four MBConv blocks), features.7, features.8 and the classifier trainable:
        // features.0–5 frozen.
        release_cached_memory();
        models::EfficientNet net = models::efficientnet_b0({.num_classes = 10});
        net.train();
        net.freeze_stages(5);
        const Tensor x = randn({16, 3, 112, 112}), y = randint(0, 10, {16});
        run_planned("real_efficientnet_b0_last_blocks_step", net, example_loss(x, y, ce), {.optimizer = train::OptimizerKind::SGDMomentum},
                    step_fn(net, x, y, ce, sgd(net)));
    }

    // BertForSequenceClassification's layout at a small size (vocabulary 30522, width 256, 4 layers
    // of 4 heads, FFN 1024), half the batch padded; no dropout, as the PyTorch definition has none.
    // AdamW (lr 1e-4, weight decay 0.01) over the trainable parameters.
    auto adamw = [](nn::Module& m) {
        return std::make_shared<optim::AdamW>(m.trainable_parameters(),
                                              optim::AdamWOptions{.lr = 1e-4, .weight_decay = 0.01});
    };
    if (want_any({"real_bert_classifier_full_step", "real_bert_classifier_last2_step"})) {
        release_cached_memory();
        models::BertConfig config;
        config.hidden_size = 256, config.num_hidden_layers = 4, config.num_attention_heads = 4;
        config.intermediate_size = 1024, config.hidden_dropout_prob = 0, config.attention_probs_dropout_prob = 0;
        const Tensor ids = randint(0, 30522, {16, 128}), labels = randint(0, 2, {16});
        Tensor mask = ones({16, 128}, DType::Int64);
        mask.slice(0, 8, 16).slice(1, 96, 128).fill_(0);  // the second half of the batch is padded
        auto bert_step = [&](models::BertForSequenceClassification& net) {
            auto opt = adamw(net);
            return std::function<void()>([&net, ids, mask, labels, opt] {
                opt->zero_grad();
                Tensor loss = bench::F::cross_entropy(net.forward(ids, mask), labels);
                loss.backward();
                opt->step();
            });
        };
        models::BertForSequenceClassification full(config);
        full.train();
        const train::ExampleLoss bert_loss = [&](nn::Module& m) {
            return bench::F::cross_entropy(dynamic_cast<models::BertForSequenceClassification&>(m).forward(ids, mask), labels);
        };
        if (want("real_bert_classifier_full_step"))
            run_planned("real_bert_classifier_full_step", full, bert_loss, {}, bert_step(full));
        models::BertForSequenceClassification last2(config);
        last2.train();
        last2.freeze();
        for (const char* part : {"bert.encoder.layer.2.*", "bert.encoder.layer.3.*", "bert.pooler.*", "classifier.*"})
            last2.unfreeze(part);
        if (want("real_bert_classifier_last2_step"))
            run_planned("real_bert_classifier_last2_step", last2, bert_loss, {}, bert_step(last2));
    }
    // A Llama-style decoder (vocabulary 32000, width 512, 4 layers of 8 heads with 2 key/value heads,
    // SwiGLU 1376, untied head) with LoRA r 8 / alpha 16 on q_proj and v_proj, the base frozen.
    if (want("real_llama_lora_step")) {
        release_cached_memory();
        models::LlamaConfig config;
        config.hidden_size = 512, config.intermediate_size = 1376, config.num_hidden_layers = 4;
        config.num_attention_heads = 8, config.num_key_value_heads = 2;
        models::LlamaForCausalLM llama(config);
        llama.train();
        nn::apply_lora(llama, {.r = 8, .alpha = 16, .target_modules = {"q_proj", "v_proj"}});
        store_frozen(llama);
        const Tensor tokens = randint(0, 32000, {4, 129});
        const Tensor input = tokens.slice(1, 0, 128).contiguous(), target = tokens.slice(1, 1, 129).contiguous();
        run_planned("real_llama_lora_step", llama, example_loss(input, target, bench::lm_loss), {},
                    step_fn(llama, input, target, bench::lm_loss, adamw(llama)));
    }

    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("peak_rss  %.1f MB\n", static_cast<double>(ru.ru_maxrss) / 1024.0);
    return 0;
}
