// plan_finetune — the dry-run planner's table for GPT-2 over freeze depths: peak memory (parameters,
// gradients, AdamW state, saved activations, workspace) and estimated step time for each plan,
// with and without gradient checkpointing, and a LoRA plan, all without training.
//
//   build/examples/plan_finetune                               # GPT-2 124M sizes, batch 8 × 256 tokens
//   build/examples/plan_finetune --config gpt2/config.json --batch 16 --seq 128
//   build/examples/plan_finetune --bf16                        # + rows under bf16 autocast, frozen weights in bf16
//
// The weights are random (only shapes matter to the plan); one forward of an example batch of
// --example-batch rows records each plan's graph, and the figures are scaled to --batch.
#include <cstdio>
#include <string>
#include <vector>

#include <graft/graft.hpp>
#include <graft/train/planner.hpp>

#include "cli.hpp"

using namespace graft;

namespace {

struct Args {
    std::string config;  // config.json; empty: GPT2Config()'s 124M sizes
    std::int64_t n_layer = 0, n_embd = 0, n_head = 0;  // overrides (0: the config's)
    std::int64_t batch = 8, seq = 256, example_batch = 1, step = 3;
    bool bf16 = false;  // rows under bf16 autocast with the frozen weights in bf16
};

void usage() {
    std::puts(
        "usage: plan_finetune [--config config.json] [--n-layer N] [--n-embd N] [--n-head N] [--batch N] [--seq N]\n"
        "                     [--example-batch N] [--depth-step N] [--bf16]\n"
        "Prints the dry-run planner's table for GPT-2 over freeze depths (0, step, 2·step, …, n_layer).");
}

}  // namespace

int main(int argc, char** argv) {
    return examples::guarded_main("plan_finetune", [&] {
        Args a;
        examples::Cli cli(argc, argv);
        while (cli.next()) {
            if (cli.is_help()) {
                usage();
                return 0;
            }
            if (cli.is("--config")) a.config = cli.value();
            else if (cli.is("--n-layer")) a.n_layer = cli.positive();
            else if (cli.is("--n-embd")) a.n_embd = cli.positive();
            else if (cli.is("--n-head")) a.n_head = cli.positive();
            else if (cli.is("--batch")) a.batch = cli.positive();
            else if (cli.is("--seq")) a.seq = cli.positive();
            else if (cli.is("--example-batch")) a.example_batch = cli.positive();
            else if (cli.is("--depth-step")) a.step = cli.positive();
            else if (cli.is("--bf16")) a.bf16 = true;
            else cli.unknown();
        }
        models::GPT2Config config = a.config.empty() ? models::GPT2Config() : models::GPT2Config::from_json_file(a.config);
        if (a.n_layer > 0) config.n_layer = a.n_layer;
        if (a.n_embd > 0) config.n_embd = a.n_embd;
        if (a.n_head > 0) config.n_head = a.n_head;
        config.validate();
        if (a.seq > config.n_positions)
            throw ValueError("--seq " + std::to_string(a.seq) + " exceeds n_positions " + std::to_string(config.n_positions));
        models::GPT2LMHead model(config);
        model.train();

        const Tensor ids = randint(0, config.vocab_size, {a.example_batch, a.seq});
        const train::ExampleLoss loss = [ids](nn::Module& m) { return models::causal_lm_loss(m.forward(ids), ids); };
        std::printf("calibrating … ");
        std::fflush(stdout);
        const train::Throughput tp = train::Throughput::measure();
        std::printf("GEMM %.0f GFLOP/s, attention %.0f GFLOP/s, bandwidth %.1f GB/s, %.1f µs per op (%d threads)\n",
                    tp.gemm_gflops, tp.attention_gflops, tp.bandwidth_gbps, tp.op_overhead_us, get_num_threads());
        std::printf("GPT-2 %lld layers × %lld wide, batch %lld × %lld tokens, AdamW\n",
                    static_cast<long long>(config.n_layer), static_cast<long long>(config.n_embd),
                    static_cast<long long>(a.batch), static_cast<long long>(a.seq));

        std::vector<train::PlanEstimate> rows;
        auto plan = [&](std::string label, std::int64_t depth, bool ckpt, bool bf16) {
            train::TrainingPlan p{.label = std::move(label), .gradient_checkpointing = ckpt, .batch_size = a.batch,
                                  .example_batch_size = a.example_batch, .bf16 = bf16};
            if (depth > 0) p.freeze = {"transformer.wte.*", "transformer.wpe.*"};
            for (std::int64_t i = 0; i < depth; ++i) p.freeze.push_back("transformer.h." + std::to_string(i) + ".*");
            rows.push_back(train::plan_step(model, loss, p, tp));
        };
        for (std::int64_t depth = 0; depth <= config.n_layer; depth += a.step) {
            if (depth == config.n_layer) break;  // everything frozen but ln_f: see the last row
            plan("freeze " + std::to_string(depth), depth, false, false);
            plan("freeze " + std::to_string(depth) + " +ckpt", depth, true, false);
            if (a.bf16) plan("freeze " + std::to_string(depth) + " bf16", depth, false, true);
        }
        plan("freeze all blocks", config.n_layer, false, false);
        train::TrainingPlan lora{.label = "LoRA r8 c_attn", .lora = nn::LoraConfig{.r = 8, .alpha = 16, .target_modules = {"c_attn"}},
                                 .batch_size = a.batch, .example_batch_size = a.example_batch};
        rows.push_back(train::plan_step(model, loss, lora, tp));
        lora.label = "LoRA r8 c_attn +ckpt";
        lora.gradient_checkpointing = true;
        rows.push_back(train::plan_step(model, loss, lora, tp));
        std::fputs(train::plan_table(rows).c_str(), stdout);
        return 0;
    });
}
