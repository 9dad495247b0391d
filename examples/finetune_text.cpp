// finetune_text — the text flagship: classify Debian packages into sections from their
// descriptions, with few labels, after pretraining a small BERT on other packages' descriptions.
//
//   scripts/setup_finetune_text.sh            # makes sure apt's package lists are present
//   build/examples/finetune_text               # default: minutes on 2 cores
//   build/examples/finetune_text --hidden 128 --vocab 4000 --pretrain-texts 40000 --pretrain-steps 3000
//       --finetune-steps 200 --seeds 5 --labels 8,32,128,512                   # the longer study
//
// The data: `apt-cache dumpavail` (or --packages FILE in that format) gives each package's
// Section and one-line Description. Task: 6 sections whose descriptions say what the program is
// for, in words no fixed phrase gives away: games, science, sound, graphics, mail, editors
// (sections named after a language or a packaging role — python, libs, libdevel, doc, perl,
// rust — are left out: "Python 3 module" or "development files" there is boilerplate that names
// the section). Descriptions of transitional, dummy, debug-symbol and documentation packages are
// dropped, packages are counted once, and train/test are split by source package, so that
// "foo" and "foo-data" never sit on both sides.
//
// Steps: (1) a WordPiece tokenizer trained on the descriptions of every other section (the
// pretraining split); (2) BertForMaskedLM pretrained on those descriptions (15 % masking,
// 80/10/10), saved as OUT/pretrained/{model.safetensors, config.json, tokenizer.json} with HF's
// names; (3) for each labels-per-class budget and seed, BertForSequenceClassification
// fine-tuned from that directory and the same model from scratch, on the same examples and
// steps, its classifier on the mean of the tokens' last hidden states (--pooling cls: HF's pooled
// [CLS]); test accuracy on held-out packages. Prints the table (mean ± std over seeds) and writes
// OUT/accuracy.csv and OUT/accuracy.svg (accuracy vs labels per class), and the mean gain of the
// pretrained model over scratch (docs/text.md has what it measured: at the settings tried, none).
#include <algorithm>
#include <cstring>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <graft/autograd.hpp>
#include <graft/data/dataloader.hpp>
#include <graft/data/length_buckets.hpp>
#include <graft/data/mlm_masking.hpp>
#include <graft/data/text_dataset.hpp>
#include <graft/functional.hpp>
#include <graft/io/safetensors.hpp>
#include <graft/models/bert.hpp>
#include <graft/optim/adam.hpp>
#include <graft/optim/clip_grad.hpp>
#include <graft/random.hpp>
#include <graft/runtime.hpp>
#include <graft/tokenizers/train.hpp>
#include <graft/train/paired_t_test.hpp>

#include "cli.hpp"
#include "seed_stats.hpp"
#include "svg_chart.hpp"

using namespace graft;
namespace fs = std::filesystem;
namespace F = graft::nn::functional;

namespace {

struct Args {
    fs::path packages;  // empty: run apt-cache dumpavail
    fs::path out = "finetune_text_out";
    std::vector<std::string> sections = {"games", "science", "sound", "graphics", "mail", "editors"};
    std::vector<std::int64_t> labels = {8, 32, 128};
    std::int64_t seeds = 3;
    std::int64_t test_per_class = 100;
    std::int64_t pretrain_texts = 10000;
    std::int64_t pretrain_steps = 600;
    std::int64_t finetune_steps = 150;
    std::int64_t vocab = 2000;
    std::int64_t hidden = 64;
    std::int64_t layers = 2;
    std::int64_t max_length = 32;
    std::int64_t batch = 32;
    double pretrain_lr = 1e-3;
    double lr = 1e-3;
    double pretrained_lr = 0;  // fine-tuning rate of the pretrained model; 0: --lr
    // Classify the mean of the tokens' last hidden states rather than the pooled [CLS]: measured
    // better for both models (docs/text.md: +0.145 pretrained, +0.095 scratch, paired t 4.2 / 4.1).
    bool mean_pooling = true;
};

const char* kUsage =
    "usage: finetune_text [options]\n"
    "  --packages FILE        apt-cache dumpavail output to read (default: run apt-cache dumpavail)\n"
    "  --out DIR              tokenizer, pretrained model, accuracy.csv and accuracy.svg (default finetune_text_out)\n"
    "  --sections A,B,...     the task's sections (default games,science,sound,graphics,mail,editors)\n"
    "  --labels N,M,...       labelled examples per class to fine-tune on (default 8,32,128)\n"
    "  --seeds N              runs per budget (default 3)\n"
    "  --test-per-class N     held-out test packages per class (default 100)\n"
    "  --pretrain-texts N     descriptions of other sections to pretrain on (default 10000)\n"
    "  --pretrain-steps N     masked-language-model steps (default 600)\n"
    "  --finetune-steps N     classifier steps per run (default 150)\n"
    "  --pooling mean|cls     the classifier's input: the mean over the tokens (default) or the pooled [CLS]\n"
    "  --pretrained-lr X      fine-tuning rate of the pretrained model (default: --lr, for both)\n"
    "  --vocab N --hidden N --layers N --max-length N --batch N --pretrain-lr X --lr X\n";

Args parse(int argc, char** argv) {
    Args a;
    examples::Cli cli(argc, argv);
    auto list = [](const std::string& s) {
        std::vector<std::string> out;
        std::stringstream ss(s);
        for (std::string item; std::getline(ss, item, ',');)
            if (!item.empty()) out.push_back(item);
        return out;
    };
    while (cli.next()) {
        if (cli.is_help()) {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (cli.is("--packages")) a.packages = cli.value();
        else if (cli.is("--out")) a.out = cli.value();
        else if (cli.is("--sections")) a.sections = list(cli.value());
        else if (cli.is("--labels")) {
            a.labels.clear();
            for (const auto& s : list(cli.value())) a.labels.push_back(std::stoll(s));
        } else if (cli.is("--seeds")) a.seeds = cli.positive();
        else if (cli.is("--test-per-class")) a.test_per_class = cli.positive();
        else if (cli.is("--pretrain-texts")) a.pretrain_texts = cli.positive();
        else if (cli.is("--pretrain-steps")) a.pretrain_steps = cli.integer_at_least(0);
        else if (cli.is("--finetune-steps")) a.finetune_steps = cli.positive();
        else if (cli.is("--vocab")) a.vocab = cli.integer_at_least(100);
        else if (cli.is("--hidden")) a.hidden = cli.integer_at_least(8);
        else if (cli.is("--layers")) a.layers = cli.positive();
        else if (cli.is("--max-length")) a.max_length = cli.integer_at_least(4);
        else if (cli.is("--batch")) a.batch = cli.positive();
        else if (cli.is("--pretrain-lr")) a.pretrain_lr = cli.number();
        else if (cli.is("--lr")) a.lr = cli.number();
        else if (cli.is("--pretrained-lr")) a.pretrained_lr = cli.number();
        else if (cli.is("--pooling")) {
            const std::string p = cli.value();
            if (p != "cls" && p != "mean") throw ValueError("--pooling: expected cls or mean, found '" + p + "'");
            a.mean_pooling = p == "mean";
        } else cli.unknown();
    }
    if (a.sections.size() < 2) throw ValueError("--sections needs at least two sections");
    for (auto n : a.labels)
        if (n < 1) throw ValueError("--labels: every budget must be at least 1");
    return a;
}

struct Package {
    std::string name, source, section, description;
};

/// The packages of an apt-cache dumpavail text, each name once (the first stanza wins).
std::vector<Package> parse_packages(std::istream& in) {
    std::vector<Package> out;
    std::set<std::string> seen;
    Package p;
    auto flush = [&] {
        if (!p.name.empty() && !p.section.empty() && !p.description.empty() && seen.insert(p.name).second) {
            if (p.source.empty()) p.source = p.name;
            out.push_back(p);
        }
        p = Package{};
    };
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) {
            flush();
            continue;
        }
        auto field = [&](const char* key) -> const char* {
            const std::size_t n = std::strlen(key);
            return line.compare(0, n, key) == 0 ? line.c_str() + n : nullptr;
        };
        if (const char* v = field("Package: ")) p.name = v;
        else if (const char* v = field("Source: ")) p.source = std::string(v).substr(0, std::string(v).find(' '));
        else if (const char* v = field("Section: ")) {
            std::string s = v;
            p.section = s.substr(s.find('/') == std::string::npos ? 0 : s.find('/') + 1);  // "contrib/games"
        } else if (const char* v = field("Description: ")) p.description = v;
    }
    flush();
    return out;
}

/// Descriptions that say nothing about what the software does.
bool boilerplate(const Package& p) {
    std::string d = p.description;
    std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* word : {"transitional", "dummy", "debug symbols", "debugging symbols", "documentation"})
        if (d.find(word) != std::string::npos) return true;
    return p.name.ends_with("-dbg") || p.name.ends_with("-dbgsym") || p.name.ends_with("-doc");
}

std::vector<Package> load_packages(const Args& a) {
    std::stringstream text;
    if (!a.packages.empty()) {
        std::ifstream in(a.packages);
        if (!in) throw IOError("cannot read --packages '" + a.packages.string() + "'");
        text << in.rdbuf();
    } else {
        FILE* pipe = popen("apt-cache dumpavail 2>/dev/null", "r");
        if (pipe == nullptr) throw IOError("cannot run apt-cache dumpavail");
        char buf[1 << 16];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) text.write(buf, static_cast<std::streamsize>(n));
        pclose(pipe);
    }
    std::vector<Package> packages = parse_packages(text);
    if (packages.size() < 100)
        throw IOError("only " + std::to_string(packages.size()) +
                      " packages with a description: are apt's package lists present? Run scripts/setup_finetune_text.sh "
                      "(apt-get update) or pass --packages FILE");
    return packages;
}

using examples::mean;
using examples::stddev;

/// HF's config.json for `c` (the keys BertConfig::from_hf_config and transformers read).
std::string config_json(const models::BertConfig& c) {
    std::ostringstream o;
    o << "{\n  \"architectures\": [\"BertForMaskedLM\"],\n  \"model_type\": \"bert\",\n"
      << "  \"vocab_size\": " << c.vocab_size << ",\n  \"hidden_size\": " << c.hidden_size
      << ",\n  \"num_hidden_layers\": " << c.num_hidden_layers << ",\n  \"num_attention_heads\": " << c.num_attention_heads
      << ",\n  \"intermediate_size\": " << c.intermediate_size << ",\n  \"hidden_act\": \"gelu\",\n"
      << "  \"max_position_embeddings\": " << c.max_position_embeddings << ",\n  \"type_vocab_size\": " << c.type_vocab_size
      << ",\n  \"pad_token_id\": " << c.pad_token_id << ",\n  \"layer_norm_eps\": " << c.layer_norm_eps
      << ",\n  \"hidden_dropout_prob\": " << c.hidden_dropout_prob
      << ",\n  \"attention_probs_dropout_prob\": " << c.attention_probs_dropout_prob
      << ",\n  \"initializer_range\": " << c.initializer_range
      << ",\n  \"position_embedding_type\": \"absolute\",\n  \"torch_dtype\": \"float32\"\n}\n";
    return o.str();
}

/// Masked-language-model pretraining; returns the last 50 steps' mean loss.
double pretrain(models::BertForMaskedLM& model, const std::shared_ptr<data::TextDataset>& texts,
                const tokenizers::Tokenizer& tok, const Args& a) {
    model.train();
    optim::AdamW opt(model.parameters(), {.lr = a.pretrain_lr, .weight_decay = 0.01});
    const auto batch = static_cast<std::size_t>(a.batch);
    data::DataLoader loader(texts, {.batch_size = batch, .drop_last = true, .collate = data::text_collate(tok.pad_id()),
                                    .order = data::length_buckets(texts->lengths(), batch, {.seed = 1})});
    const data::MlmMaskingOptions mlm{.mask_id = *tok.token_to_id("[MASK]"),
                                      .vocab_size = static_cast<std::int64_t>(tok.vocab_size()),
                                      .special_ids = {*tok.token_to_id("[CLS]"), *tok.token_to_id("[SEP]"), tok.pad_id()}};
    Generator gen(1);
    std::vector<double> recent;
    std::int64_t step = 0;
    while (step < a.pretrain_steps) {
        for (const auto& b : loader) {
            if (step >= a.pretrain_steps) break;
            // Linear warm-up over the first 10 % of the steps.
            const double warm = std::min(1.0, static_cast<double>(step + 1) / std::max(1.0, 0.1 * a.pretrain_steps));
            opt.set_lr(0, a.pretrain_lr * warm);
            const data::Example m = data::mask_tokens(b, mlm, gen);
            const Tensor logits = model.forward(m.input, m.fields.at("attention_mask"));
            const Tensor loss = F::cross_entropy(logits.reshape({-1, logits.size(2)}), m.target.reshape({-1}));
            opt.zero_grad();
            loss.backward();
            clip_grad_norm(model.parameters(), 1.0);
            opt.step();
            recent.push_back(loss.item<float>());
            if (recent.size() > 50) recent.erase(recent.begin());
            if (++step % 100 == 0 || step == a.pretrain_steps)
                std::printf("  step %4lld  mlm loss %.3f\n", static_cast<long long>(step), mean(recent));
        }
    }
    return recent.empty() ? 0.0 : mean(recent);
}

/// The logits of `model` for a batch: its own head on the pooled [CLS], or with mean pooling the
/// classifier on the mean of the last hidden states over the tokens (not the padding).
Tensor logits_of(models::BertForSequenceClassification& model, const Tensor& ids, const Tensor& mask, const Tensor& types,
                 bool mean_pooling) {
    if (!mean_pooling) return model.forward(ids, mask, types);
    const Tensor hidden = model.bert->forward(ids, mask, types).last_hidden_state;  // [B, T, H]
    const Tensor m = mask.to(DType::Float32).unsqueeze(2);                           // [B, T, 1]
    const Tensor pooled = (hidden * m).sum({1}) / m.sum({1});
    return model.classifier->forward(model.dropout->forward(pooled));
}

/// Fine-tunes `model` on `train` for a.finetune_steps steps at rate `lr`; returns accuracy on `test`.
double finetune(models::BertForSequenceClassification& model, const std::shared_ptr<data::TextDataset>& train,
                const std::shared_ptr<data::TextDataset>& test, const tokenizers::Tokenizer& tok, const Args& a,
                double lr, std::uint64_t seed) {
    model.train();
    optim::AdamW opt(model.parameters(), {.lr = lr, .weight_decay = 0.01});
    const std::size_t batch = std::min<std::size_t>(16, train->size());
    data::DataLoader loader(train, {.batch_size = batch, .shuffle = true, .seed = seed, .num_threads = 1,
                                    .collate = data::text_collate(tok.pad_id())});
    std::int64_t step = 0;
    while (step < a.finetune_steps) {
        for (const auto& b : loader) {
            if (step++ >= a.finetune_steps) break;
            const Tensor logits =
                logits_of(model, b.input, b.fields.at("attention_mask"), b.fields.at("token_type_ids"), a.mean_pooling);
            const Tensor loss = F::cross_entropy(logits, b.target);
            opt.zero_grad();
            loss.backward();
            clip_grad_norm(model.parameters(), 1.0);
            opt.step();
        }
    }
    model.eval();
    NoGradGuard no_grad;
    data::DataLoader eval(test, {.batch_size = 128, .collate = data::text_collate(tok.pad_id())});
    std::int64_t right = 0;
    for (const auto& b : eval) {
        const Tensor pred =
            logits_of(model, b.input, b.fields.at("attention_mask"), b.fields.at("token_type_ids"), a.mean_pooling).argmax(1);
        const Tensor p = pred.contiguous(), y = b.target.contiguous();
        for (std::int64_t i = 0; i < p.numel(); ++i) right += p.data_ptr<std::int64_t>()[i] == y.data_ptr<std::int64_t>()[i];
    }
    return static_cast<double>(right) / static_cast<double>(test->size());
}

int run(const Args& a) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up at once when piped to a log
    fs::create_directories(a.out / "pretrained");
    const std::vector<Package> packages = load_packages(a);
    std::map<std::string, std::int64_t> class_of;
    for (std::size_t i = 0; i < a.sections.size(); ++i) class_of[a.sections[i]] = static_cast<std::int64_t>(i);

    // Split: task sections by source package into test and the labelled pool; the rest pretrains.
    std::vector<std::string> pretrain_texts;
    std::vector<std::vector<const Package*>> by_class(a.sections.size());
    std::size_t dropped = 0;
    for (const auto& p : packages) {
        if (boilerplate(p)) {
            ++dropped;
            continue;
        }
        const auto it = class_of.find(p.section);
        if (it == class_of.end()) pretrain_texts.push_back(p.description);
        else by_class[static_cast<std::size_t>(it->second)].push_back(&p);
    }
    Generator split_gen(2026);
    for (std::size_t i = pretrain_texts.size(); i > 1; --i)
        std::swap(pretrain_texts[i - 1], pretrain_texts[static_cast<std::size_t>(split_gen.randint(0, static_cast<std::int64_t>(i)))]);
    if (pretrain_texts.size() > static_cast<std::size_t>(a.pretrain_texts)) pretrain_texts.resize(static_cast<std::size_t>(a.pretrain_texts));

    std::vector<std::string> test_texts;
    std::vector<std::int64_t> test_labels;
    std::vector<std::vector<const Package*>> pool(a.sections.size());
    std::printf("[1/4] %zu packages (%zu boilerplate descriptions dropped); %zu descriptions of other sections pretrain\n",
                packages.size(), dropped, pretrain_texts.size());
    for (std::size_t c = 0; c < by_class.size(); ++c) {
        // Sources in a seeded random order; the first ones' packages are the test set.
        std::vector<std::string> sources;
        for (const Package* p : by_class[c]) sources.push_back(p->source);
        std::sort(sources.begin(), sources.end());
        sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
        for (std::size_t i = sources.size(); i > 1; --i)
            std::swap(sources[i - 1], sources[static_cast<std::size_t>(split_gen.randint(0, static_cast<std::int64_t>(i)))]);
        std::set<std::string> test_sources;
        std::size_t in_test = 0;
        for (const auto& s : sources) {
            if (in_test >= static_cast<std::size_t>(a.test_per_class)) break;
            test_sources.insert(s);
            for (const Package* p : by_class[c]) in_test += p->source == s;
        }
        for (const Package* p : by_class[c]) {
            if (test_sources.count(p->source)) {
                test_texts.push_back(p->description);
                test_labels.push_back(static_cast<std::int64_t>(c));
            } else {
                pool[c].push_back(p);
            }
        }
        std::printf("      %-10s %4zu packages: %4zu test, %4zu to draw labels from\n", a.sections[c].c_str(),
                    by_class[c].size(), by_class[c].size() - pool[c].size(), pool[c].size());
        if (pool[c].empty()) throw ValueError("section '" + a.sections[c] + "' has no packages left to train on");
    }

    std::printf("[2/4] WordPiece tokenizer (vocab %lld) on the pretraining descriptions\n", static_cast<long long>(a.vocab));
    const auto tok = tokenizers::train_wordpiece(pretrain_texts, {.vocab_size = static_cast<std::size_t>(a.vocab),
                                                                  .min_frequency = 2,
                                                                  .special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}});
    tok.save(a.out / "pretrained" / "tokenizer.json");
    const auto max_len = static_cast<std::size_t>(a.max_length);

    models::BertConfig config;
    config.vocab_size = static_cast<std::int64_t>(tok.vocab_size());
    config.hidden_size = a.hidden;
    config.num_hidden_layers = a.layers;
    config.num_attention_heads = std::max<std::int64_t>(1, a.hidden / 32);
    config.intermediate_size = 4 * a.hidden;
    config.max_position_embeddings = std::max<std::int64_t>(64, a.max_length);
    config.pad_token_id = tok.pad_id();
    std::printf("[3/4] BertForMaskedLM (%lld layers, hidden %lld, %lld heads): %lld steps of batch %lld\n",
                static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.hidden_size),
                static_cast<long long>(config.num_attention_heads), static_cast<long long>(a.pretrain_steps),
                static_cast<long long>(a.batch));
    manual_seed(1);
    models::BertForMaskedLM mlm(config);
    auto pretrain_set = std::make_shared<data::TextDataset>(pretrain_texts, std::vector<std::int64_t>{}, tok, max_len);
    const double mlm_loss = pretrain(mlm, pretrain_set, tok, a);
    io::save_safetensors(a.out / "pretrained" / "model.safetensors", mlm.state_dict(), {{"format", "pt"}});
    std::ofstream(a.out / "pretrained" / "config.json") << config_json(config);
    std::printf("      saved %s (mlm loss %.3f; ln(vocab) = %.2f)\n", (a.out / "pretrained").c_str(), mlm_loss,
                std::log(static_cast<double>(config.vocab_size)));

    auto test_set = std::make_shared<data::TextDataset>(test_texts, test_labels, tok, max_len);
    const auto num_labels = static_cast<std::int64_t>(a.sections.size());
    std::printf("[4/4] fine-tuning, %lld steps per run, test set %zu packages\n", static_cast<long long>(a.finetune_steps),
                test_set->size());
    std::map<std::int64_t, std::vector<double>> acc_pre, acc_scratch;
    for (std::int64_t n : a.labels) {
        for (std::int64_t seed = 0; seed < a.seeds; ++seed) {
            Generator gen(derive_seed(7, {static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(seed)}));
            std::vector<std::string> texts;
            std::vector<std::int64_t> labels;
            for (std::size_t c = 0; c < pool.size(); ++c) {
                std::vector<const Package*> p = pool[c];
                for (std::size_t i = p.size(); i > 1; --i)
                    std::swap(p[i - 1], p[static_cast<std::size_t>(gen.randint(0, static_cast<std::int64_t>(i)))]);
                for (std::size_t i = 0; i < std::min(p.size(), static_cast<std::size_t>(n)); ++i) {
                    texts.push_back(p[i]->description);
                    labels.push_back(static_cast<std::int64_t>(c));
                }
            }
            auto train_set = std::make_shared<data::TextDataset>(texts, labels, tok, max_len);
            manual_seed(derive_seed(11, {static_cast<std::uint64_t>(seed)}));
            auto pre = models::BertForSequenceClassification::from_pretrained(a.out / "pretrained", {.num_labels = num_labels});
            const double pre_lr = a.pretrained_lr > 0 ? a.pretrained_lr : a.lr;
            const double a_pre = finetune(pre, train_set, test_set, tok, a, pre_lr, static_cast<std::uint64_t>(seed));
            models::BertConfig scratch_config = config;
            scratch_config.num_labels = num_labels;
            manual_seed(derive_seed(11, {static_cast<std::uint64_t>(seed)}));
            models::BertForSequenceClassification scratch(scratch_config);
            const double a_scratch = finetune(scratch, train_set, test_set, tok, a, a.lr, static_cast<std::uint64_t>(seed));
            acc_pre[n].push_back(a_pre);
            acc_scratch[n].push_back(a_scratch);
            std::printf("  %4lld labels/class, seed %lld: pretrained %.3f  scratch %.3f\n", static_cast<long long>(n),
                        static_cast<long long>(seed), a_pre, a_scratch);
        }
    }

    std::printf("\ntest accuracy, mean ± std over %lld seeds (chance %.3f); the difference with Student's paired t-test\n",
                static_cast<long long>(a.seeds), 1.0 / static_cast<double>(num_labels));
    std::printf("labels/class | pretrained BERT (MLM) | from scratch  | pretrained − scratch\n");
    std::ofstream csv(a.out / "accuracy.csv");
    csv << "labels_per_class,seed,pretrained,scratch\n";
    examples::Series s_pre{"pretrained (MLM)", "#1f77b4", {}}, s_scratch{"from scratch", "#d62728", {}};
    double gain = 0;
    for (std::int64_t n : a.labels) {
        const auto& p = acc_pre[n];
        const auto& s = acc_scratch[n];
        std::printf("%12lld | %.3f ± %.3f         | %.3f ± %.3f | ", static_cast<long long>(n), mean(p), stddev(p), mean(s),
                    stddev(s));
        if (p.size() >= 2) {
            const train::PairedTTest t = train::paired_t_test(p, s);
            std::printf("%+.3f (t = %.2f, p = %.3g)\n", t.mean_difference, t.t, t.p_value);
        } else {
            std::printf("%+.3f (one seed: no test)\n", mean(p) - mean(s));
        }
        for (std::size_t i = 0; i < p.size(); ++i) csv << n << ',' << i << ',' << p[i] << ',' << s[i] << '\n';
        s_pre.points.emplace_back(std::log2(static_cast<double>(n)), mean(p));
        s_scratch.points.emplace_back(std::log2(static_cast<double>(n)), mean(s));
        gain += mean(p) - mean(s);
    }
    examples::write_svg_chart(a.out / "accuracy.svg", "Debian sections from descriptions: test accuracy",
                              "log2(labels per class)", "accuracy", {s_pre, s_scratch}, 0.0, 1.0);
    std::printf("\nwrote %s, %s\n", (a.out / "accuracy.csv").c_str(), (a.out / "accuracy.svg").c_str());
    gain /= static_cast<double>(a.labels.size());
    // The measurement is the result: a run where pretraining does not help still succeeds.
    std::printf("mean gain of pretraining: %+.3f (%s)\n", gain,
                gain > 0 ? "pretraining helped" : "pretraining did not help at these settings");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::guarded_main("finetune_text", [&] { return run(parse(argc, argv)); });
}
