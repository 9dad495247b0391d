// finetune_image — fine-tuning torchvision's resnet18 on a folder of images, as a torchvision user
// does it: ImageFolder, RandomResizedCrop / Resize / CenterCrop / Normalize, a pretrained checkpoint
// with torchvision's names, a new head, frozen early stages, and weights PyTorch loads back.
//
//   build/examples/finetune_image                                   # the shipped digit images
//   build/examples/finetune_image --data my_photos --weights resnet18.safetensors --size 224
//   build/examples/finetune_image --study                           # fine-tuned vs scratch over budgets and seeds
//
// 1. The checkpoint. With --weights FILE it is loaded as given (torchvision's
//    resnet18(weights="DEFAULT").state_dict() saved as safetensors, or any resnet18 state dict).
//    Without, resnet18 is pretrained here on --source (digits 0–4 rendered as 32×32 PNGs) and saved
//    as OUT/pretrained.safetensors: a stand-in for an ImageNet checkpoint that runs in seconds.
// 2. The target task: --data (digits 5–9), one folder per class, split 80/20 into train and
//    held-out images (seeded). The checkpoint is loaded strictly, the head replaced
//    (reset_classifier), conv1…layer3 frozen (freeze_stages(3)), and layer4 + fc trained with
//    AdamW on randomly resized crops.
// 3. The same resnet18 from random initialisation, all of it trained, same images and steps.
// 4. Held-out accuracy of both; the fine-tuned weights go to OUT/finetuned.safetensors with
//    torchvision's names, and the program prints the PyTorch lines that load them.
//
// --study replaces 2–4 by the comparison over label budgets and seeds: for each budget (--shots,
// labelled images per class) and seed (--seeds), the seed draws that many training images per
// class; both recipes (fine-tuned as in 2, scratch as in 3) train on them for --steps steps and are
// scored on the same held-out images (every image beyond the largest budget, per class). It prints
// mean ± std accuracy per budget and the paired t-test of fine-tuned vs scratch over the seeds,
// and writes OUT/study.csv (every run) and OUT/study.svg (accuracy vs labels per class).
//
// The digit images are examples/data/digit_images (made by examples/data/make_digit_images.py
// from the UCI digits, CC BY 4.0; see examples/data/README.md).
#include <graft/graft.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli.hpp"
#include "seed_stats.hpp"
#include "svg_chart.hpp"

namespace {

using namespace graft;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
    fs::path data = GRAFT_EXAMPLES_DATA_DIR "/digit_images/target";
    fs::path source = GRAFT_EXAMPLES_DATA_DIR "/digit_images/source";
    fs::path weights;  // empty: pretrain on `source`
    fs::path out = "finetune_image_out";
    std::int64_t size = 32;
    std::int64_t steps = 60;
    std::int64_t pretrain_steps = 120;
    std::int64_t batch = 32;
    double lr = 1e-3;
    std::uint64_t seed = 1;
    bool study = false;
    std::vector<std::int64_t> shots = {5, 10, 30};
    std::int64_t seeds = 5;
};

void usage(const char* argv0) {
    std::printf(
        "usage: %s [options]\n"
        "Fine-tunes resnet18 on an ImageFolder (one subfolder per class) and compares with training\n"
        "from scratch for the same steps.\n\n"
        "  --data DIR             the target task's images [default: examples/data/digit_images/target]\n"
        "  --weights FILE         a resnet18 state dict with torchvision's names (.safetensors); without\n"
        "                         it, resnet18 is pretrained on --source first\n"
        "  --source DIR           images to pretrain on [default: examples/data/digit_images/source]\n"
        "  --out DIR              where pretrained.safetensors and finetuned.safetensors go\n"
        "                         [default: finetune_image_out]\n"
        "  --size N               input size: images are cropped and resized to N×N [default: 32]\n"
        "  --steps N              training steps of the fine-tuning and of the scratch run [default: 60]\n"
        "  --pretrain-steps N     pretraining steps [default: 120]\n"
        "  --batch N              batch size [default: 32]\n"
        "  --lr X                 AdamW learning rate [default: 1e-3]\n"
        "  --seed N               split, initialisation and augmentation seed [default: 1]\n"
        "  --study                fine-tuned vs scratch over label budgets and seeds (table, paired t-test,\n"
        "                         OUT/study.csv, OUT/study.svg) instead of the single comparison\n"
        "  --shots N,N,...        --study: labelled training images per class [default: 5,10,30]\n"
        "  --seeds N              --study: seeds per budget, at least 2 [default: 5]\n",
        argv0);
}

Args parse(int argc, char** argv) {
    Args a;
    examples::Cli cli(argc, argv);
    while (cli.next()) {
        if (cli.is_help()) {
            usage(argv[0]);
            std::exit(0);
        } else if (cli.is("--data")) a.data = cli.value();
        else if (cli.is("--weights")) a.weights = cli.value();
        else if (cli.is("--source")) a.source = cli.value();
        else if (cli.is("--out")) a.out = cli.value();
        else if (cli.is("--size")) a.size = cli.positive();
        else if (cli.is("--steps")) a.steps = cli.positive();
        else if (cli.is("--pretrain-steps")) a.pretrain_steps = cli.positive();
        else if (cli.is("--batch")) a.batch = cli.positive();
        else if (cli.is("--lr")) a.lr = cli.number();
        else if (cli.is("--seed")) a.seed = static_cast<std::uint64_t>(cli.non_negative());
        else if (cli.is("--study")) a.study = true;
        else if (cli.is("--shots")) a.shots = examples::positive_list(cli.value(), "--shots");
        else if (cli.is("--seeds")) a.seeds = cli.positive();
        else cli.unknown();
    }
    if (a.seeds < 2) throw ValueError("--seeds: the paired t-test needs at least 2 seeds, got " + std::to_string(a.seeds));
    return a;
}

/// Training-time augmentation: a random crop of 60–100 % of the image at aspect 3/4…4/3, resized to
/// size×size, ImageNet normalisation. (No horizontal flip: a mirrored digit is another shape.)
data::Compose train_transform(std::int64_t size) {
    return data::Compose{data::RandomResizedCrop(size, {.scale = {0.6, 1.0}}), data::Normalize::imagenet()};
}

/// Evaluation: resize the short side, take the centre, normalise.
data::Compose eval_transform(std::int64_t size) {
    return data::Compose{data::Resize(size), data::CenterCrop(size), data::Normalize::imagenet()};
}

/// `steps` AdamW steps over `train` (epochs repeat as needed), batches shuffled by `seed`; returns
/// the mean loss of the last pass.
double train_steps(models::ResNet& model, const std::shared_ptr<const data::Dataset>& train, const Args& a,
                   std::int64_t steps, std::uint64_t seed) {
    optim::AdamW opt(model.trainable_parameters(), {.lr = a.lr, .weight_decay = 1e-4});
    data::DataLoader loader(train, {.batch_size = static_cast<std::size_t>(a.batch), .shuffle = true,
                                    .seed = seed});
    model.train();
    std::int64_t step = 0;
    double loss_sum = 0;
    std::int64_t batches = 0;
    while (step < steps) {
        loss_sum = 0, batches = 0;
        for (const auto& [xb, yb] : loader) {
            Tensor loss = nn::functional::cross_entropy(model.forward(xb), yb);
            opt.zero_grad();
            loss.backward();
            opt.step();
            loss_sum += loss.item<float>(), ++batches;
            if (++step == steps) break;
        }
    }
    return loss_sum / static_cast<double>(batches);
}

/// Fraction of `set` the model classifies correctly (eval mode, no graph).
double accuracy(models::ResNet& model, const std::shared_ptr<const data::Dataset>& set) {
    NoGradGuard no_grad;
    model.eval();
    std::int64_t correct = 0, total = 0;
    for (const auto& [xb, yb] : data::DataLoader(set, {.batch_size = 128})) {
        const std::vector<std::int64_t> pred = model.forward(xb).argmax(1).to_vector<std::int64_t>();
        const std::vector<std::int64_t> want = yb.to_vector<std::int64_t>();
        for (std::size_t i = 0; i < pred.size(); ++i) correct += pred[i] == want[i];
        total += static_cast<std::int64_t>(pred.size());
    }
    return static_cast<double>(correct) / static_cast<double>(total);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// Step 1: --weights as given, or resnet18 pretrained on --source and saved as OUT/pretrained.safetensors.
fs::path pretrained_checkpoint(const Args& a) {
    fs::path checkpoint = a.weights;
    if (checkpoint.empty()) {
        auto source = std::make_shared<data::ImageFolder>(a.source, train_transform(a.size), a.seed);
        std::printf("[1/4] no --weights: pretraining resnet18 on %s (%zu images, %zu classes, %lld steps)\n",
                    a.source.c_str(), source->size(), source->classes().size(),
                    static_cast<long long>(a.pretrain_steps));
        std::printf("      (this checkpoint stands in for torchvision's ImageNet weights)\n");
        manual_seed(a.seed);
        models::ResNet net = models::resnet18({.num_classes = static_cast<std::int64_t>(source->classes().size())});
        const auto t0 = Clock::now();
        const double loss = train_steps(net, source, a, a.pretrain_steps, a.seed);
        checkpoint = a.out / "pretrained.safetensors";
        io::save_safetensors(checkpoint, net.state_dict(), {{"model", "resnet18"}, {"task", a.source.string()}});
        std::printf("      mean loss of the last pass %.3f, %.1f s -> %s\n", loss, seconds_since(t0), checkpoint.c_str());
    } else {
        std::printf("[1/4] checkpoint: %s\n", checkpoint.c_str());
    }
    return checkpoint;
}

/// The recipe of step 2: the checkpoint loaded strictly, a new head of `num_classes`, conv1…layer3 frozen.
models::ResNet finetune_model(const StateDict& pretrained, std::int64_t num_classes) {
    models::ResNet ft = models::resnet18({.num_classes = pretrained.at("fc.weight").size(0)});
    ft.load_state_dict(pretrained);  // strict: every key and shape must match
    ft.reset_classifier(num_classes);
    ft.freeze_stages(3);
    return ft;
}

// ---- --study: fine-tuned vs scratch over label budgets and seeds ------------------------------

/// The images of `folder` at `idx`, transformed.
std::shared_ptr<data::TransformedDataset> images_at(const std::shared_ptr<const data::ImageFolder>& folder,
                                                    const std::vector<std::size_t>& idx, data::Compose transform,
                                                    std::uint64_t seed) {
    return std::make_shared<data::TransformedDataset>(std::make_shared<data::Subset>(folder, idx), std::move(transform),
                                                      seed);
}

int run_study(const Args& a) {
    auto target = std::make_shared<data::ImageFolder>(a.data);
    const auto num_classes = static_cast<std::int64_t>(target->classes().size());
    const std::int64_t max_shots = a.shots.back();
    std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(num_classes));
    const std::vector<std::int64_t> labels = target->targets();
    for (std::size_t i = 0; i < labels.size(); ++i) by_class[static_cast<std::size_t>(labels[i])].push_back(i);
    std::size_t held_out_per_class = SIZE_MAX;
    for (std::size_t c = 0; c < by_class.size(); ++c) {
        if (static_cast<std::int64_t>(by_class[c].size()) < max_shots + 2)
            throw ValueError("--shots " + std::to_string(max_shots) + ": class '" + target->classes()[c] + "' has " +
                             std::to_string(by_class[c].size()) + " images, fewer than " +
                             std::to_string(max_shots + 2) + " (the budget and two held-out images)");
        held_out_per_class = std::min(held_out_per_class, by_class[c].size() - static_cast<std::size_t>(max_shots));
    }
    const StateDict pretrained = io::load_safetensors(pretrained_checkpoint(a));
    // Seed s shuffles each class with mt19937_64(1000 + s): its first `shots` images train, its
    // last held_out_per_class images evaluate, so that every budget of a seed (and both recipes)
    // meets the same held-out images and the smaller budgets' images are part of the larger ones.
    auto split = [&](std::int64_t seed, std::int64_t shots) {
        std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(seed));
        std::vector<std::size_t> tr, ev;
        for (const auto& cls : by_class) {
            std::vector<std::size_t> idx = cls;
            std::shuffle(idx.begin(), idx.end(), rng);
            tr.insert(tr.end(), idx.begin(), idx.begin() + shots);
            ev.insert(ev.end(), idx.end() - static_cast<std::ptrdiff_t>(held_out_per_class), idx.end());
        }
        const auto s = static_cast<std::uint64_t>(seed);
        return std::pair{images_at(target, tr, train_transform(a.size), s), images_at(target, ev, eval_transform(a.size), s)};
    };
    std::string budgets;
    for (auto n : a.shots) {
        if (!budgets.empty()) budgets += ',';
        budgets += std::to_string(n);
    }
    std::printf("[2/4] target: %s, %lld classes; label budgets %s images per class, %lld seeds, %zu held-out images "
                "per class; %lld steps of batch %lld, AdamW lr %g\n",
                a.data.c_str(), static_cast<long long>(num_classes), budgets.c_str(), static_cast<long long>(a.seeds),
                held_out_per_class, static_cast<long long>(a.steps), static_cast<long long>(a.batch), a.lr);

    // acc[recipe][budget] = one accuracy per seed; recipe 0 fine-tuned, 1 scratch
    const char* names[2] = {"fine-tuned", "scratch"};
    std::vector<std::vector<std::vector<double>>> acc(2, std::vector<std::vector<double>>(a.shots.size()));
    std::ofstream csv(a.out / "study.csv");
    csv << "recipe,shots,seed,steps,accuracy,train_loss,seconds\n";
    std::printf("[3/4] %zu budgets x %lld seeds x 2 recipes (fine-tuned: layer4 + fc; scratch: all of resnet18)\n",
                a.shots.size(), static_cast<long long>(a.seeds));
    for (std::size_t bi = 0; bi < a.shots.size(); ++bi) {
        for (std::int64_t seed = 0; seed < a.seeds; ++seed) {
            const auto [train_set, held_out] = split(seed, a.shots[bi]);
            for (int r = 0; r < 2; ++r) {
                // Both recipes of a seed start from the same generator state and see the same
                // images, batches and crops: they differ only by the recipe.
                manual_seed(static_cast<std::uint64_t>(2000 + seed));
                models::ResNet model = r == 0 ? finetune_model(pretrained, num_classes)
                                              : models::resnet18({.num_classes = num_classes});
                const auto t0 = Clock::now();
                const double loss = train_steps(model, train_set, a, a.steps, static_cast<std::uint64_t>(seed));
                const double value = accuracy(model, held_out), seconds = seconds_since(t0);
                acc[static_cast<std::size_t>(r)][bi].push_back(value);
                csv << names[r] << "," << a.shots[bi] << "," << seed << "," << a.steps << "," << value << "," << loss
                    << "," << seconds << "\n";
            }
            std::printf("      %lld labels per class, seed %lld: fine-tuned %.3f, scratch %.3f\n",
                        static_cast<long long>(a.shots[bi]), static_cast<long long>(seed), acc[0][bi].back(),
                        acc[1][bi].back());
            std::fflush(stdout);
        }
    }
    csv.close();
    if (!csv) throw IOError("finetune_image: cannot write " + (a.out / "study.csv").string());

    std::printf("\nheld-out accuracy %% after %lld steps, mean ± std over %lld seeds; fine-tuned minus scratch with "
                "the paired t-test over the seeds (two-sided p)\n",
                static_cast<long long>(a.steps), static_cast<long long>(a.seeds));
    std::printf("labels per class |   fine-tuned |      scratch | difference |       t |       p\n");
    for (std::size_t bi = 0; bi < a.shots.size(); ++bi) {
        const auto t = train::paired_t_test(acc[0][bi], acc[1][bi]);
        std::printf("%16lld | %5.1f ± %4.1f | %5.1f ± %4.1f | %+10.1f | %7.2f | %7.3g\n",
                    static_cast<long long>(a.shots[bi]), 100 * examples::mean(acc[0][bi]),
                    100 * examples::stddev(acc[0][bi]), 100 * examples::mean(acc[1][bi]),
                    100 * examples::stddev(acc[1][bi]), 100 * t.mean_difference, t.t, t.p_value);
    }

    std::vector<examples::Series> series{{"fine-tuned", "#1f77b4", {}}, {"scratch", "#d62728", {}}};
    for (std::size_t r = 0; r < 2; ++r)
        for (std::size_t bi = 0; bi < a.shots.size(); ++bi)
            series[r].points.emplace_back(static_cast<double>(a.shots[bi]), examples::mean(acc[r][bi]));
    const std::string title = "resnet18, " + std::to_string(a.steps) + " steps (mean of " + std::to_string(a.seeds) +
                              " seeds)";
    examples::write_svg_chart(a.out / "study.svg", title, "labelled images per class", "held-out accuracy", series,
                              0.0, 1.0);
    std::printf("\n[4/4] %s (every run), %s (accuracy vs labels per class)\n", (a.out / "study.csv").c_str(),
                (a.out / "study.svg").c_str());
    return 0;
}

int run(const Args& a) {
    fs::create_directories(a.out);
    if (a.study) return run_study(a);

    // ---- 1. the pretrained checkpoint ---------------------------------------------------------
    const StateDict pretrained = io::load_safetensors(pretrained_checkpoint(a));

    // ---- 2. the target task: load strictly, new head, freeze conv1…layer3 ----------------------
    auto target = std::make_shared<data::ImageFolder>(a.data);
    const auto num_classes = static_cast<std::int64_t>(target->classes().size());
    auto parts = data::random_split(target, {0.8, 0.2}, a.seed);
    auto train_set = std::make_shared<data::TransformedDataset>(parts[0], train_transform(a.size), a.seed);
    auto held_out = std::make_shared<data::TransformedDataset>(parts[1], eval_transform(a.size), a.seed);
    std::printf("[2/4] target: %s, %lld classes, %zu train / %zu held-out images, %lld steps of batch %lld\n",
                a.data.c_str(), static_cast<long long>(num_classes), train_set->size(), held_out->size(),
                static_cast<long long>(a.steps), static_cast<long long>(a.batch));
    manual_seed(a.seed + 1);
    models::ResNet ft = finetune_model(pretrained, num_classes);
    std::int64_t trainable = 0, total = 0;
    for (const Tensor& p : ft.parameters()) (p.requires_grad() ? trainable : total) += p.numel();
    total += trainable;
    auto t0 = Clock::now();
    const double ft_loss = train_steps(ft, train_set, a, a.steps, a.seed);
    const double ft_seconds = seconds_since(t0);
    const double ft_acc = accuracy(ft, held_out);
    std::printf("      fine-tuned (layer4 + fc, %lld of %lld parameters): held-out accuracy %.3f, train loss %.3f, %.1f s\n",
                static_cast<long long>(trainable), static_cast<long long>(total), ft_acc, ft_loss, ft_seconds);

    // ---- 3. the same network from scratch ------------------------------------------------------
    manual_seed(a.seed + 1);
    models::ResNet scratch = models::resnet18({.num_classes = num_classes});
    t0 = Clock::now();
    const double sc_loss = train_steps(scratch, train_set, a, a.steps, a.seed);
    const double sc_seconds = seconds_since(t0);
    const double sc_acc = accuracy(scratch, held_out);
    std::printf("[3/4] from scratch (all %lld parameters): held-out accuracy %.3f, train loss %.3f, %.1f s\n",
                static_cast<long long>(total), sc_acc, sc_loss, sc_seconds);

    // ---- 4. save with torchvision's names ------------------------------------------------------
    const fs::path finetuned = a.out / "finetuned.safetensors";
    io::save_safetensors(finetuned, ft.state_dict(), {{"model", "resnet18"}, {"task", a.data.string()}});
    models::ResNet check = models::resnet18({.num_classes = num_classes});
    check.load_state_dict(io::load_safetensors(finetuned));  // strict, as PyTorch will load it
    std::printf("[4/4] fine-tuned %.1f%% vs scratch %.1f%% held-out accuracy after %lld steps each\n", 100 * ft_acc,
                100 * sc_acc, static_cast<long long>(a.steps));
    std::printf("      saved %s; in PyTorch:\n", finetuned.c_str());
    std::printf("        model = torchvision.models.resnet18(num_classes=%lld)\n", static_cast<long long>(num_classes));
    std::printf("        model.load_state_dict(safetensors.torch.load_file(\"%s\"), strict=True)\n", finetuned.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::guarded_main("finetune_image", [&] { return run(parse(argc, argv)); });
}
