// finetune_charlm — LoRA on a small character-level GPT: pretrain on one text, adapt to another.
//
//   build/examples/finetune_charlm                                   # GPL-3 → Apache-2.0
//   build/examples/finetune_charlm --pretrain-text A.txt --finetune-text B.txt --lora-r 4
//   build/examples/finetune_charlm --bf16        # the LoRA phase in bf16, on a bf16 base
//
// 1. Pretrain a GPT-2-shaped model (bytes as tokens, vocab 256) on the first text, all parameters
//    trainable.
// 2. Wrap its attention and MLP layers (Conv1D) with LoRA adapters, which freezes everything else,
//    and train only the adapters on the second text.
// 3. Print the validation loss of the second text before and after, the trainable parameter
//    counts (full vs LoRA), the median step time of both phases, a sample generated before and
//    after, and save the adapter (PEFT names) as OUT/lora_adapter.safetensors.
//
// Texts from /usr/share/common-licenses are on every Debian machine. Exits non-zero if LoRA did not
// lower the validation loss of the second text.
#include <graft/graft.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "byte_corpus.hpp"
#include "cli.hpp"

namespace {

using namespace graft;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using examples::Corpus;
using examples::read_corpus;
using examples::windows;

struct Args {
    fs::path pretrain_text = "/usr/share/common-licenses/GPL-3";
    fs::path finetune_text = "/usr/share/common-licenses/Apache-2.0";
    fs::path out = "finetune_charlm_out";
    std::int64_t pretrain_steps = 1000, finetune_steps = 300;
    std::int64_t block = 64, batch = 16;
    std::int64_t n_layer = 2, n_embd = 64, n_head = 4;
    std::int64_t lora_r = 8;
    std::uint64_t seed = 0;
    bool bf16 = false;  // the LoRA phase under bf16 autocast, on a base stored in bf16
};

void usage(const char* argv0) {
    std::printf(
        "usage: %s [options]\n"
        "Pretrains a character-level GPT on one text and fine-tunes it with LoRA on another.\n\n"
        "  --pretrain-text FILE   [/usr/share/common-licenses/GPL-3]\n"
        "  --finetune-text FILE   [/usr/share/common-licenses/Apache-2.0]\n"
        "  --out DIR              where the LoRA adapter is saved [finetune_charlm_out]\n"
        "  --pretrain-steps N     [1000]   --finetune-steps N   [300]\n"
        "  --block N              context length [64]   --batch N [16]\n"
        "  --n-layer N [2]  --n-embd N [64]  --n-head N [4]  --lora-r N [8]  --seed S [0]\n"
        "  --bf16                 the LoRA phase under bf16 autocast, the frozen base stored in bf16\n"
        "  --help\n",
        argv0);
}

Args parse(int argc, char** argv) {
    Args a;
    examples::Cli cli(argc, argv);
    while (cli.next()) {
        if (cli.is_help()) {
            usage(argv[0]);
            std::exit(0);
        } else if (cli.is("--pretrain-text")) a.pretrain_text = cli.value();
        else if (cli.is("--finetune-text")) a.finetune_text = cli.value();
        else if (cli.is("--out")) a.out = cli.value();
        else if (cli.is("--pretrain-steps")) a.pretrain_steps = cli.positive();
        else if (cli.is("--finetune-steps")) a.finetune_steps = cli.positive();
        else if (cli.is("--block")) a.block = cli.positive();
        else if (cli.is("--batch")) a.batch = cli.positive();
        else if (cli.is("--n-layer")) a.n_layer = cli.positive();
        else if (cli.is("--n-embd")) a.n_embd = cli.positive();
        else if (cli.is("--n-head")) a.n_head = cli.positive();
        else if (cli.is("--lora-r")) a.lora_r = cli.positive();
        else if (cli.is("--seed")) a.seed = static_cast<std::uint64_t>(cli.non_negative());
        else if (cli.is("--bf16")) a.bf16 = true;
        else cli.unknown();
    }
    return a;
}

double val_loss(models::GPT2LMHead& model, const std::vector<std::int64_t>& tokens, const Args& a) {
    const bool was_training = model.is_training();
    model.eval();
    NoGradGuard no_grad;
    const Tensor ids = windows(tokens, 32, a.block, nullptr);
    const double loss = models::causal_lm_loss(model.forward(ids), ids).item<double>();
    model.train(was_training);
    return loss;
}

std::string sample(models::GPT2LMHead& model, const std::vector<std::int64_t>& tokens, const Args& a) {
    const bool was_training = model.is_training();
    model.eval();
    const std::int64_t prompt_len = 16;
    const Tensor prompt = from_vector(std::vector<std::int64_t>(tokens.begin(), tokens.begin() + prompt_len), {1, prompt_len});
    const Tensor out = models::generate(model, prompt,
                                        {.max_new_tokens = std::min<std::int64_t>(96, a.block * 2 - prompt_len),
                                         .temperature = 0.8, .top_k = 20, .seed = 7});
    model.train(was_training);
    std::string s;
    for (auto t : out.to_vector<std::int64_t>()) s += (t == '\n' || (t >= 32 && t < 127)) ? static_cast<char>(t) : '?';
    return s;
}

/// Trains `steps` AdamW steps on random windows; returns the median step time in ms.
double train(models::GPT2LMHead& model, const std::vector<std::int64_t>& tokens, std::int64_t steps, double lr,
             const Args& a, const char* what) {
    optim::AdamW opt(model.trainable_parameters(), {.lr = lr, .weight_decay = 0.0});
    optim::CosineLR sched(opt, /*warmup=*/std::min<std::int64_t>(20, steps / 5), /*total=*/steps, lr * 0.1);
    Generator g(a.seed + 1);
    std::vector<double> ms;
    model.train();
    for (std::int64_t s = 0; s < steps; ++s) {
        const Tensor ids = windows(tokens, a.batch, a.block, &g);
        const auto t0 = Clock::now();
        opt.zero_grad();
        Tensor loss = models::causal_lm_loss(model.forward(ids), ids);
        loss.backward();
        clip_grad_norm(model.trainable_parameters(), 1.0);
        opt.step();
        sched.step();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if ((s + 1) % std::max<std::int64_t>(1, steps / 5) == 0 || s + 1 == steps)
            std::printf("  %s step %lld/%lld  loss %.3f\n", what, static_cast<long long>(s + 1),
                        static_cast<long long>(steps), loss.item<double>());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

int run(const Args& a) {
    const Corpus src = read_corpus(a.pretrain_text, a.block), dst = read_corpus(a.finetune_text, a.block);
    manual_seed(a.seed);
    models::GPT2Config cfg;
    cfg.vocab_size = 256;
    cfg.n_positions = 2 * a.block;
    cfg.n_embd = a.n_embd;
    cfg.n_layer = a.n_layer;
    cfg.n_head = a.n_head;
    cfg.resid_pdrop = cfg.embd_pdrop = cfg.attn_pdrop = 0.0;
    models::GPT2LMHead model(cfg);

    std::printf("[1/2] pretraining on %s (%zu bytes), all %lld parameters trainable\n", a.pretrain_text.c_str(),
                src.train.size() + src.val.size(), static_cast<long long>(model.parameter_count(true)));
    const double full_ms = train(model, src.train, a.pretrain_steps, 3e-3, a, "pretrain");
    const double src_after = val_loss(model, src.val, a), dst_before = val_loss(model, dst.val, a);
    std::printf("validation loss: %s %.3f, %s %.3f (not trained on yet)\n", a.pretrain_text.filename().c_str(),
                src_after, a.finetune_text.filename().c_str(), dst_before);
    const std::string before = sample(model, dst.val, a);

    const nn::LoraConfig lora{.r = a.lora_r, .alpha = 2.0 * static_cast<double>(a.lora_r),
                              .target_modules = {"*.attn.c_attn", "*.attn.c_proj", "*.mlp.c_fc", "*.mlp.c_proj"}};
    const auto wrapped = nn::apply_lora(model, lora);
    // --bf16: the frozen base in bf16 (half its bytes) and the whole LoRA phase, evaluation and
    // sampling included, under bf16 autocast (docs/mixed-precision.md).
    if (a.bf16) model.to(DType::BFloat16, {.frozen_only = true});
    const AutocastGuard autocast(a.bf16 ? DType::BFloat16 : DType::Float32);
    const std::int64_t total = model.parameter_count(), trainable = model.parameter_count(true);
    std::printf("\n[2/2] LoRA r=%lld on %zu layers: %lld trainable parameters of %lld (%.1f%%), on %s\n",
                static_cast<long long>(a.lora_r), wrapped.size(), static_cast<long long>(trainable),
                static_cast<long long>(total), 100.0 * static_cast<double>(trainable) / static_cast<double>(total),
                a.finetune_text.c_str());
    const double lora_ms = train(model, dst.train, a.finetune_steps, 3e-3, a, "lora");
    const double dst_after = val_loss(model, dst.val, a);
    const std::string after = sample(model, dst.val, a);

    fs::create_directories(a.out);
    io::save_lora_adapter(a.out / "lora_adapter.safetensors", model, lora);
    // Full precision, for comparing runs (the --bf16 study of docs/mixed-precision.md).
    std::printf("final validation loss %.6f (LoRA phase in %s)\n", dst_after, a.bf16 ? "bf16" : "float32");
    std::printf("\nvalidation loss on %s: %.3f before LoRA, %.3f after (%+.3f)\n", a.finetune_text.filename().c_str(),
                dst_before, dst_after, dst_after - dst_before);
    const std::int64_t base_params = total - trainable;  // every parameter LoRA did not add
    std::printf("trainable parameters: full fine-tuning %lld, LoRA %lld (%.1fx fewer)\n", static_cast<long long>(base_params),
                static_cast<long long>(trainable), static_cast<double>(base_params) / static_cast<double>(trainable));
    std::printf("median step time: full training %.1f ms, LoRA %.1f ms (batch %lld × %lld tokens)\n", full_ms, lora_ms,
                static_cast<long long>(a.batch), static_cast<long long>(a.block));
    std::printf("adapter saved: %s\n", (a.out / "lora_adapter.safetensors").c_str());
    std::printf("\nsample before LoRA:\n%s\n\nsample after LoRA:\n%s\n", before.c_str(), after.c_str());
    if (!(dst_after < dst_before)) {
        std::fprintf(stderr, "error: LoRA did not lower the validation loss\n");
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::guarded_main("finetune_charlm", [&] { return run(parse(argc, argv)); });
}
