// lora_llama — LoRA on a Llama-family checkpoint: a Hugging Face model directory in, an adapter and
// a merged model for inference out.
//
//   build/examples/lora_llama                                   # writes and uses a tiny random checkpoint
//   build/examples/lora_llama path/to/SmolLM-135M --steps 200 --text my_corpus.txt
//
// 1. Load LlamaForCausalLM from DIR (config.json + model.safetensors or shards; BF16 converted). With
//    no DIR, a tiny Llama-style checkpoint with random weights is written to OUT/tiny_llama first,
//    and the program says so.
// 2. Wrap every attention and MLP projection (q/k/v/o_proj, gate/up/down_proj) with LoRA, which
//    freezes the rest, and train the adapters on the text. The token ids are the text's bytes (no
//    tokenizer here), so DIR's vocabulary must have at least 256 entries.
// 3. Save the adapter as OUT/adapter/adapter_model.safetensors (PEFT's tensor names), load it into
//    a fresh copy of the checkpoint to check it, then merge the adapters into the weights and save
//    the merged model as a Hugging Face directory OUT/merged (config.json + model.safetensors)
//    that from_pretrained, and transformers, load without LoRA.
//
// Exits non-zero when training did not lower the validation loss or a reloaded model disagrees.
#include <graft/graft.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "byte_corpus.hpp"
#include "cli.hpp"

namespace {

using namespace graft;
namespace fs = std::filesystem;

struct Args {
    fs::path checkpoint;  // empty: write a tiny one
    fs::path text = "/usr/share/common-licenses/Apache-2.0";
    fs::path out = "lora_llama_out";
    std::int64_t steps = 60, block = 64, batch = 8, lora_r = 8;
    double lr = 1e-2;
    std::uint64_t seed = 0;
};

void usage(const char* argv0) {
    std::printf(
        "usage: %s [DIR] [options]\n"
        "Trains LoRA adapters on a Llama-family checkpoint (a Hugging Face directory: config.json and\n"
        "model.safetensors or its shards) and saves the adapter and the merged model. Without DIR a tiny\n"
        "random checkpoint is written to OUT/tiny_llama and used.\n\n"
        "  --text FILE     the training text, as byte tokens [/usr/share/common-licenses/Apache-2.0]\n"
        "  --out DIR       where the adapter and the merged model go [lora_llama_out]\n"
        "  --steps N [60]  --block N [64]  --batch N [8]  --lora-r N [8]  --lr X [0.01]  --seed S [0]\n"
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
        } else if (!cli.is_option() && a.checkpoint.empty()) a.checkpoint = cli.key();
        else if (cli.is("--text")) a.text = cli.value();
        else if (cli.is("--out")) a.out = cli.value();
        else if (cli.is("--steps")) a.steps = cli.positive();
        else if (cli.is("--block")) a.block = cli.positive();
        else if (cli.is("--batch")) a.batch = cli.positive();
        else if (cli.is("--lora-r")) a.lora_r = cli.positive();
        else if (cli.is("--lr")) a.lr = cli.number();
        else if (cli.is("--seed")) a.seed = static_cast<std::uint64_t>(cli.non_negative());
        else cli.unknown();
    }
    return a;
}

/// A SmolLM-shaped miniature (grouped-query attention, tied embeddings) over byte tokens, with
/// Hugging Face's initialisation (every weight N(0, 0.02), norms one), saved as a model directory.
void write_tiny_checkpoint(const fs::path& dir) {
    const std::string config = R"({
  "architectures": ["LlamaForCausalLM"],
  "model_type": "llama",
  "vocab_size": 256,
  "hidden_size": 64,
  "intermediate_size": 128,
  "num_hidden_layers": 2,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
  "hidden_act": "silu",
  "max_position_embeddings": 512,
  "rms_norm_eps": 1e-05,
  "rope_theta": 10000.0,
  "rope_scaling": null,
  "tie_word_embeddings": true,
  "torch_dtype": "float32"
}
)";
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << config;
    models::LlamaForCausalLM model(models::LlamaConfig::from_json_file(dir / "config.json"));
    for (auto& [name, p] : model.named_parameters())
        if (name.find("norm") == std::string::npos) nn::init::normal_(p, 0.0, 0.02);
    io::save_safetensors(dir / "model.safetensors", model.state_dict());
}

double val_loss(models::LlamaForCausalLM& model, const std::vector<std::int64_t>& tokens, const Args& a) {
    const bool was_training = model.is_training();
    model.eval();
    NoGradGuard no_grad;
    const Tensor ids = examples::windows(tokens, 16, a.block, nullptr);
    const double loss = models::causal_lm_loss(model.forward(ids), ids).item<double>();
    model.train(was_training);
    return loss;
}

/// The merged model's tensors under the checkpoint's own names: the LoRA tensors left out.
StateDict without_adapters(const StateDict& merged) {
    StateDict out;
    for (const auto& [name, t] : merged)
        if (!name.ends_with(".lora_A") && !name.ends_with(".lora_B")) out.insert(name, t);
    return out;
}

int run(const Args& a) {
    const examples::Corpus corpus = examples::read_corpus(a.text, a.block);
    manual_seed(a.seed);
    fs::path dir = a.checkpoint;
    if (dir.empty()) {
        dir = a.out / "tiny_llama";
        std::printf("no checkpoint given: writing a tiny Llama-style checkpoint with random weights to %s\n",
                    dir.c_str());
        write_tiny_checkpoint(dir);
    }
    models::LlamaForCausalLM model = models::LlamaForCausalLM::from_pretrained(dir);
    if (model.config.vocab_size < 256)
        throw ValueError("the token ids are bytes, but " + dir.string() + " has a vocabulary of " +
                         std::to_string(model.config.vocab_size));
    std::printf("loaded %s: %lld layers, hidden %lld, %lld heads (%lld key/value), %lld parameters\n", dir.c_str(),
                static_cast<long long>(model.config.num_hidden_layers), static_cast<long long>(model.config.hidden_size),
                static_cast<long long>(model.config.num_attention_heads),
                static_cast<long long>(model.config.kv_heads()), static_cast<long long>(model.parameter_count()));

    const nn::LoraConfig lora{.r = a.lora_r, .alpha = 2.0 * static_cast<double>(a.lora_r),
                              .target_modules = {"*.q_proj", "*.k_proj", "*.v_proj", "*.o_proj", "*.gate_proj",
                                                 "*.up_proj", "*.down_proj"}};
    const auto wrapped = nn::apply_lora(model, lora);
    const double before = val_loss(model, corpus.val, a);
    std::printf("LoRA r=%lld on %zu projections: %lld trainable parameters of %lld; validation loss %.3f\n",
                static_cast<long long>(a.lora_r), wrapped.size(), static_cast<long long>(model.parameter_count(true)),
                static_cast<long long>(model.parameter_count()), before);

    optim::AdamW opt(model.trainable_parameters(), {.lr = a.lr, .weight_decay = 0.0});
    Generator g(a.seed + 1);
    model.train();
    for (std::int64_t s = 0; s < a.steps; ++s) {
        const Tensor ids = examples::windows(corpus.train, a.batch, a.block, &g);
        opt.zero_grad();
        Tensor loss = models::causal_lm_loss(model.forward(ids), ids);
        loss.backward();
        clip_grad_norm(model.trainable_parameters(), 1.0);
        opt.step();
        if ((s + 1) % std::max<std::int64_t>(1, a.steps / 5) == 0 || s + 1 == a.steps)
            std::printf("  step %lld/%lld  loss %.3f\n", static_cast<long long>(s + 1), static_cast<long long>(a.steps),
                        loss.item<double>());
    }
    const double after = val_loss(model, corpus.val, a);
    std::printf("validation loss %.3f before, %.3f after (%+.3f)\n", before, after, after - before);

    const fs::path adapter = a.out / "adapter" / "adapter_model.safetensors";
    fs::create_directories(adapter.parent_path());
    io::save_lora_adapter(adapter, model, lora);
    models::LlamaForCausalLM reloaded = models::LlamaForCausalLM::from_pretrained(dir);
    io::load_lora_adapter(adapter, reloaded);
    const double reloaded_loss = val_loss(reloaded, corpus.val, a);
    std::printf("adapter saved: %s (reloaded onto the checkpoint: validation loss %.3f)\n", adapter.c_str(),
                reloaded_loss);

    nn::merge_lora(model);
    const fs::path merged = a.out / "merged";
    fs::create_directories(merged);
    fs::copy_file(dir / "config.json", merged / "config.json", fs::copy_options::overwrite_existing);
    io::save_safetensors(merged / "model.safetensors", without_adapters(model.state_dict()));
    models::LlamaForCausalLM inference = models::LlamaForCausalLM::from_pretrained(merged);
    const double merged_loss = val_loss(inference, corpus.val, a);
    std::printf("merged model saved: %s (reloaded without LoRA: validation loss %.3f)\n", merged.c_str(), merged_loss);

    int status = 0;
    if (!(after < before)) {
        std::fprintf(stderr, "error: LoRA did not lower the validation loss\n");
        status = 1;
    }
    for (const auto& [what, loss] : {std::pair{"the reloaded adapter", reloaded_loss}, std::pair{"the merged model", merged_loss}})
        if (!(std::abs(loss - after) <= 1e-4 * std::max(1.0, std::abs(after)))) {
            std::fprintf(stderr, "error: %s gives validation loss %.6f, the trained model %.6f\n", what, loss, after);
            status = 1;
        }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::guarded_main("lora_llama", [&] { return run(parse(argc, argv)); });
}
