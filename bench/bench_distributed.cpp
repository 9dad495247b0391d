// Data-parallel training steps of the reference workloads (bench/workloads.hpp) under mpirun:
// the global batch is split over the ranks, DistributedDataParallel averages the gradients, and
// rank 0 prints the step time; "allreduce", the buckets' times in flight summed (concurrent
// buckets count each); "exposed", the time backward waited at its end (the communication that
// did not overlap, plus any lag of the slowest rank); "lone allreduce", one all-reduce of all the
// gradient bytes with nothing else running (docs/distributed.md).
//
//   mpirun -np 2 build/bench/bench_distributed --workload mlp --threads 1
//   GRAFT_NUM_THREADS=2 build/bench/bench_distributed --workload mlp   # one process, two threads
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "graft/dist/collectives.hpp"
#include "graft/dist/ddp.hpp"
#include "graft/dist/environment.hpp"
#include "workloads.hpp"

using namespace graft;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string workload = "mlp";
    int steps = 10;
    int warmup = 2;
    int threads = 0;
    double bucket_mb = 25.0;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/// Times `steps` training steps of `model` on this rank's part of the global batch.
void run(const std::string& name, nn::Module& model, const Tensor& x, const Tensor& y,
         Tensor (*loss_fn)(const Tensor&, const Tensor&), const Options& o) {
    dist::DistributedDataParallel ddp(model, {.bucket_cap_bytes = static_cast<std::size_t>(o.bucket_mb * (1 << 20))});
    optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-4});
    std::vector<double> step_ms, reduce_ms, exposed_ms;
    for (int i = 0; i < o.warmup + o.steps; ++i) {
        ddp.reset_stats();
        dist::barrier();
        const auto t0 = Clock::now();
        opt.zero_grad();
        loss_fn(ddp.forward(x), y).backward();
        opt.step();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (i < o.warmup) continue;
        // The slowest rank sets the pace.
        step_ms.push_back(dist::all_reduce(ms, dist::ReduceOp::Max));
        reduce_ms.push_back(dist::all_reduce(1e3 * ddp.stats().allreduce_seconds, dist::ReduceOp::Max));
        exposed_ms.push_back(dist::all_reduce(1e3 * ddp.stats().exposed_wait_seconds, dist::ReduceOp::Max));
    }
    double bytes = 0;
    for (const auto& p : model.trainable_parameters()) bytes += 4.0 * static_cast<double>(p.numel());
    // A lone all-reduce of the same bytes (one bucket, nothing to overlap with), for α–β.
    Tensor flat = zeros({static_cast<std::int64_t>(bytes / 4)});
    std::vector<double> lone_ms;
    for (int i = 0; i < std::max(3, o.steps); ++i) {
        dist::barrier();
        const auto t0 = Clock::now();
        dist::all_reduce(flat);
        lone_ms.push_back(dist::all_reduce(std::chrono::duration<double, std::milli>(Clock::now() - t0).count(),
                                           dist::ReduceOp::Max));
    }
    if (dist::rank() == 0)
        std::printf("%s ranks=%d threads=%d batch/rank=%lld grad=%.2f MB buckets=%zu  step %.2f ms  allreduce %.2f ms  "
                    "exposed %.2f ms  lone allreduce %.2f ms\n",
                    name.c_str(), dist::world_size(), get_num_threads(), static_cast<long long>(x.size(0)), bytes / 1e6,
                    ddp.bucket_parameter_names().size(), median(step_ms), median(reduce_ms), median(exposed_ms),
                    median(lone_ms));
}

Tensor ce(const Tensor& out, const Tensor& y) { return nn::functional::cross_entropy(out, y); }

}  // namespace

int main(int argc, char** argv) {
    dist::Environment env(argc, argv);
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (k == "--workload") o.workload = value();
        else if (k == "--steps") o.steps = std::max(1, std::stoi(value()));
        else if (k == "--warmup") o.warmup = std::max(0, std::stoi(value()));
        else if (k == "--threads") o.threads = std::stoi(value());
        else if (k == "--bucket-mb") o.bucket_mb = std::stod(value());
        else {
            if (dist::rank() == 0)
                std::fprintf(stderr, "usage: bench_distributed [--workload mlp|gpt|gpt_lora|resnet18_last_stage] [--steps N] [--warmup N] "
                                     "[--threads N] [--bucket-mb MB]\n");
            return k == "--help" ? 0 : 2;
        }
    }
    if (o.threads > 0) set_num_threads(o.threads);
    const std::int64_t world = dist::world_size();
    manual_seed(static_cast<std::uint64_t>(dist::rank()) + 1);  // each rank its own part of the batch
    if (o.workload == "mlp") {
        nn::Sequential mlp = bench::make_mlp();
        const std::int64_t b = 256 / world;
        run("mlp_full_step", mlp, randn({b, 784}), randint(0, 10, {b}), ce, o);
    } else if (o.workload == "gpt" || o.workload == "gpt_lora") {
        bench::Gpt gpt;
        if (o.workload == "gpt_lora") nn::apply_lora(gpt, {.r = 8, .target_modules = {"blocks.*.qkv", "blocks.*.proj"}});
        const std::int64_t b = std::max<std::int64_t>(1, 16 / world);
        run(o.workload + "_full_step", gpt, randint(0, 256, {b, 128}), randint(0, 256, {b, 128}), bench::lm_loss, o);
    } else if (o.workload == "resnet18_last_stage") {
        // real_resnet18_last_stage_step's model and data (layer4 and fc trainable, 16 images of
        // 112×112 in all), with this bench's AdamW.
        models::ResNet net = models::resnet18({.num_classes = 10});
        net.train();
        net.freeze_stages(3);
        const std::int64_t b = std::max<std::int64_t>(1, 16 / world);
        run("resnet18_last_stage_step", net, randn({b, 3, 112, 112}), randint(0, 10, {b}), ce, o);
    } else {
        if (dist::rank() == 0) std::fprintf(stderr, "bench_distributed: unknown workload %s\n", o.workload.c_str());
        return 2;
    }
    return 0;
}
