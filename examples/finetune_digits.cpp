// finetune_digits — the flagship demo: transfer learning on the UCI handwritten digits.
//
//   build/examples/finetune_digits                       # defaults: 10 shots, 5 seeds
//   build/examples/finetune_digits --shots 5 --seeds 3 --out /tmp/digits
//
// 1. Pretrain a small CNN on the digits 0–4 (about 900 images) and save it as safetensors.
// 2. The new task: digits 5–9 with only --shots labelled images per class. Load the pretrained
//    network, put a new 5-class head on it, freeze the convolutional backbone (BatchNorm kept in
//    eval mode) and train the head alone — from a feature cache, since the frozen backbone's
//    output never changes.
// 3. Train the same network from scratch on the same images for the same number of steps.
// 4. Compare validation accuracy on all the other 5–9 images, over several seeds, and write the
//    learning curves as CSV and as SVG charts (OUT/curves.csv; OUT/curves.svg accuracy, OUT/loss.svg).
//
// The data (examples/data/digits.csv.gz) is the UCI "Optical Recognition of Handwritten Digits"
// test set as shipped by scikit-learn, CC BY 4.0 (see examples/data/README.md). Exits non-zero if
// fine-tuning does not beat training from scratch.
#include <graft/graft.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "cli.hpp"
#include "svg_chart.hpp"

namespace {

using namespace graft;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
    fs::path data = GRAFT_EXAMPLES_DATA_DIR "/digits.csv.gz";
    fs::path out = "finetune_digits_out";
    std::int64_t shots = 10;
    std::int64_t seeds = 5;
    std::int64_t pretrain_epochs = 12;
    std::int64_t epochs = 20;  // fine-tuning and scratch epochs (equal steps)
    std::int64_t early = 2;    // the short budget both are also compared at
    double lr = 3e-3;
    bool compare_cache = true;
};

void usage(const char* argv0) {
    std::printf(
        "usage: %s [options]\n"
        "Pretrains a CNN on digits 0-4, fine-tunes it on digits 5-9 from a few labelled images per\n"
        "class, and compares with training from scratch.\n\n"
        "  --data FILE            digits CSV (.csv or .csv.gz; 64 pixels 0..16 and a label per row)\n"
        "                         [default: %s]\n"
        "  --out DIR              where the pretrained weights, curves.csv, curves.svg and loss.svg go\n"
        "                         [default: finetune_digits_out]\n"
        "  --shots N              labelled images per class for the new task [10]\n"
        "  --seeds N              repetitions with different examples and initialisations [5]\n"
        "  --pretrain-epochs N    epochs on digits 0-4 [12]\n"
        "  --epochs N             epochs for fine-tuning and for scratch training (same steps) [20]\n"
        "  --early N              also compare after this many epochs (a short budget) [2]\n"
        "  --lr X                 Adam learning rate for both runs [0.003]\n"
        "  --no-cache-compare     skip timing the head training without the feature cache\n"
        "  --help\n",
        argv0, GRAFT_EXAMPLES_DATA_DIR "/digits.csv.gz");
}

Args parse(int argc, char** argv) {
    Args a;
    examples::Cli cli(argc, argv);
    while (cli.next()) {
        if (cli.is_help()) {
            usage(argv[0]);
            std::exit(0);
        } else if (cli.is("--data")) a.data = cli.value();
        else if (cli.is("--out")) a.out = cli.value();
        else if (cli.is("--shots")) a.shots = cli.positive();
        else if (cli.is("--seeds")) a.seeds = cli.positive();
        else if (cli.is("--pretrain-epochs")) a.pretrain_epochs = cli.positive();
        else if (cli.is("--epochs")) a.epochs = cli.positive();
        else if (cli.is("--early")) a.early = cli.positive();
        else if (cli.is("--lr")) a.lr = cli.number();
        else if (cli.is("--no-cache-compare")) a.compare_cache = false;
        else cli.unknown();
    }
    return a;
}

/// A small CNN for 1×8×8 images: two conv blocks ("features", [N, 512] out) and an MLP "head".
struct DigitNet : nn::Cloneable<DigitNet> {
    explicit DigitNet(std::int64_t classes = 5) : classes(classes) { reset(); }
    void reset() override {
        register_module("features", &DigitNet::features,
                        nn::Sequential{nn::Conv2d(1, 16, 3, {.padding = 1}), nn::BatchNorm2d(16), nn::ReLU(),
                                       nn::Conv2d(16, 32, 3, {.padding = 1}), nn::BatchNorm2d(32), nn::ReLU(),
                                       nn::MaxPool2d(2), nn::Flatten()});
        register_module("head", &DigitNet::head, make_head(classes));
    }
    static nn::Sequential make_head(std::int64_t classes) {
        return nn::Sequential{nn::Linear(32 * 4 * 4, 64), nn::ReLU(), nn::Linear(64, classes)};
    }
    Tensor forward(const Tensor& x) override { return head(features(x)); }
    std::string type_name() const override { return "DigitNet"; }
    std::int64_t classes;
    nn::Child<nn::Sequential> features;
    nn::Child<nn::Sequential> head;
};

struct Digits {
    Tensor images;                    // [N, 1, 8, 8] float32 in [0, 1]
    std::vector<std::int64_t> labels; // 0..9
};

Digits load_digits(const fs::path& path) {
    auto ds = data::load_csv(path, {.header = false});
    const std::int64_t n = static_cast<std::int64_t>(ds->size());
    std::vector<Tensor> rows;
    Digits d;
    for (std::int64_t i = 0; i < n; ++i) {
        const data::Example e = ds->get(static_cast<std::size_t>(i));
        if (e.input.numel() != 64) throw ValueError(path.string() + ": expected 64 pixels per row");
        rows.push_back(e.input);
        d.labels.push_back(e.target.item<std::int64_t>());
    }
    d.images = (stack(rows, 0) / 16.0).reshape({n, 1, 8, 8}).contiguous();
    return d;
}

/// The images at `idx` with labels mapped by `label_of`.
std::shared_ptr<data::TensorDataset> subset(const Digits& d, const std::vector<std::int64_t>& idx,
                                            std::int64_t label_offset) {
    std::vector<std::int64_t> y;
    for (auto i : idx) y.push_back(d.labels[static_cast<std::size_t>(i)] - label_offset);
    const auto n = static_cast<std::int64_t>(idx.size());
    return std::make_shared<data::TensorDataset>(index_select(d.images, 0, from_vector(idx, {n})), from_vector(y, {n}));
}

void shuffle(std::vector<std::int64_t>& v, Generator& g) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(g.randint(0, static_cast<std::int64_t>(i)))]);
}

train::TrainerOptions quiet(std::int64_t epochs) {
    return {.epochs = epochs, .monitor = "val_accuracy", .progress = train::Progress::Off};
}

struct RunResult {
    std::vector<double> val_accuracy, val_loss, train_loss;  // per epoch
    double seconds = 0;
};

RunResult run_trainer(nn::Module& model, std::shared_ptr<const data::Dataset> train_set,
                      std::shared_ptr<const data::Dataset> val_set, const Args& a, std::uint64_t seed) {
    data::DataLoader train_loader(train_set, {.batch_size = 10, .shuffle = true, .seed = seed});
    data::DataLoader val_loader(val_set, {.batch_size = 256});
    optim::Adam opt(model.trainable_parameters(), {.lr = a.lr});
    train::Trainer trainer(model, opt, quiet(a.epochs));
    trainer.add_metric(std::make_shared<train::Accuracy>());
    const auto r = trainer.fit(train_loader, &val_loader);
    RunResult out;
    for (const auto& logs : r.history) {
        out.val_accuracy.push_back(logs.at("val_accuracy"));
        out.val_loss.push_back(logs.at("val_loss"));
        out.train_loss.push_back(logs.at("train_loss"));
    }
    out.seconds = r.seconds;
    return out;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }
double stddev(const std::vector<double>& v) {
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
}

int run(const Args& a) {
    fs::create_directories(a.out);
    const Digits digits = load_digits(a.data);
    std::vector<std::int64_t> source, target[5];
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(digits.labels.size()); ++i) {
        const auto y = digits.labels[static_cast<std::size_t>(i)];
        if (y < 5) source.push_back(i);
        else target[y - 5].push_back(i);
    }
    std::printf("digits: %zu images; source task 0-4: %zu, target task 5-9: %zu\n", digits.labels.size(),
                source.size(), digits.labels.size() - source.size());

    // ---- 1. pretrain on 0–4 ----------------------------------------------------------------
    const fs::path pretrained_path = a.out / "pretrained_digits_0-4.safetensors";
    {
        Generator g(1234);
        std::vector<std::int64_t> idx = source;
        shuffle(idx, g);
        const std::size_t n_val = idx.size() / 10;
        std::vector<std::int64_t> val(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n_val));
        std::vector<std::int64_t> tr(idx.begin() + static_cast<std::ptrdiff_t>(n_val), idx.end());
        manual_seed(1234);
        DigitNet net(5);
        data::DataLoader train_loader(subset(digits, tr, 0), {.batch_size = 32, .shuffle = true, .seed = 1});
        data::DataLoader val_loader(subset(digits, val, 0), {.batch_size = 256});
        optim::Adam opt(net.parameters(), {.lr = 2e-3});
        train::Trainer trainer(net, opt, {.epochs = a.pretrain_epochs, .monitor = "val_accuracy",
                                          .log_csv = a.out / "pretrain_log.csv", .progress = train::Progress::Auto});
        trainer.add_metric(std::make_shared<train::Accuracy>());
        std::printf("\n[1/3] pretraining on digits 0-4 (%zu train, %zu val images)\n", tr.size(), val.size());
        const auto r = trainer.fit(train_loader, &val_loader);
        const double acc = r.history.back().at("val_accuracy");
        io::save_safetensors(pretrained_path, net.state_dict(),
                             {{"task", "UCI digits 0-4"}, {"val_accuracy", std::to_string(acc)}, {"model", "DigitNet"}});
        std::printf("pretrained: val accuracy %.3f in %.1f s -> %s\n", acc, r.seconds, pretrained_path.c_str());
    }
    const StateDict pretrained = io::load_safetensors(pretrained_path);

    // ---- 2./3. fine-tune vs scratch on 5–9, over seeds --------------------------------------
    std::printf("\n[2/3] target task: digits 5-9 with %lld labelled images per class, %lld epochs, Adam lr %g\n",
                static_cast<long long>(a.shots), static_cast<long long>(a.epochs), a.lr);
    const std::int64_t early = std::min(a.early, a.epochs);
    const std::size_t ei = static_cast<std::size_t>(early - 1);
    std::printf("validation accuracy after %lld epoch(s) (%lld steps) and after %lld epochs (%lld steps); wall time of each run\n",
                static_cast<long long>(early), static_cast<long long>(early * ((5 * a.shots + 9) / 10)),
                static_cast<long long>(a.epochs), static_cast<long long>(a.epochs * ((5 * a.shots + 9) / 10)));
    std::printf("%6s | %11s %11s | %11s %11s | %9s %9s\n", "seed", "fine-tuned", "scratch", "fine-tuned", "scratch",
                "ft s", "scratch s");
    std::vector<double> ft_final, sc_final, ft_early, sc_early, ft_time, sc_time;
    std::vector<std::vector<double>> ft_curves, sc_curves, ft_loss, sc_loss;
    std::ofstream curves(a.out / "curves.csv");
    curves << "method,seed,epoch,train_loss,val_loss,val_accuracy\n";
    auto write_rows = [&](const char* method, std::int64_t seed, const RunResult& r) {
        for (std::size_t e = 0; e < r.val_accuracy.size(); ++e)
            curves << method << "," << seed << "," << e + 1 << "," << r.train_loss[e] << "," << r.val_loss[e] << ","
                   << r.val_accuracy[e] << "\n";
    };
    for (std::int64_t s = 0; s < a.seeds; ++s) {
        Generator g(static_cast<std::uint64_t>(100 + s));
        std::vector<std::int64_t> tr, val;
        for (auto cls : target) {
            std::vector<std::int64_t> idx = cls;
            shuffle(idx, g);
            if (static_cast<std::int64_t>(idx.size()) <= a.shots) throw ValueError("--shots leaves no validation images");
            tr.insert(tr.end(), idx.begin(), idx.begin() + a.shots);
            val.insert(val.end(), idx.begin() + a.shots, idx.end());
        }
        auto train_set = subset(digits, tr, 5), val_set = subset(digits, val, 5);

        // Fine-tune: pretrained backbone, new head, backbone frozen; the head trains from cached features.
        manual_seed(static_cast<std::uint64_t>(s));
        DigitNet ft(5);
        ft.load_state_dict(pretrained);
        ft.head = DigitNet::make_head(5);
        ft.features->freeze({.batchnorm_eval = true});
        const auto t0 = Clock::now();
        auto train_feats = train::cache_features(*ft.features, train_set);
        auto val_feats = train::cache_features(*ft.features, val_set);
        RunResult fr = run_trainer(*ft.head, train_feats, val_feats, a, static_cast<std::uint64_t>(s));
        fr.seconds = std::chrono::duration<double>(Clock::now() - t0).count();

        // Scratch: the same network, freshly initialised, all of it trainable, same images and steps.
        manual_seed(static_cast<std::uint64_t>(s));
        DigitNet sc(5);
        RunResult sr = run_trainer(sc, train_set, val_set, a, static_cast<std::uint64_t>(s));

        std::printf("%6lld | %11.3f %11.3f | %11.3f %11.3f | %9.2f %9.2f\n", static_cast<long long>(s),
                    fr.val_accuracy[ei], sr.val_accuracy[ei], fr.val_accuracy.back(), sr.val_accuracy.back(), fr.seconds,
                    sr.seconds);
        ft_early.push_back(fr.val_accuracy[ei]);
        sc_early.push_back(sr.val_accuracy[ei]);
        ft_final.push_back(fr.val_accuracy.back());
        sc_final.push_back(sr.val_accuracy.back());
        ft_time.push_back(fr.seconds);
        sc_time.push_back(sr.seconds);
        ft_curves.push_back(fr.val_accuracy);
        sc_curves.push_back(sr.val_accuracy);
        ft_loss.push_back(fr.val_loss);
        sc_loss.push_back(sr.val_loss);
        write_rows("finetune", s, fr);
        write_rows("scratch", s, sr);
    }
    curves.close();
    std::printf("%6s | %5.3f±%.3f %5.3f±%.3f | %5.3f±%.3f %5.3f±%.3f | %9.2f %9.2f\n", "mean", mean(ft_early),
                stddev(ft_early), mean(sc_early), stddev(sc_early), mean(ft_final), stddev(ft_final), mean(sc_final),
                stddev(sc_final), mean(ft_time), mean(sc_time));

    // ---- what the feature cache saves --------------------------------------------------------
    if (a.compare_cache) {
        manual_seed(0);
        DigitNet ft(5);
        ft.load_state_dict(pretrained);
        ft.head = DigitNet::make_head(5);
        ft.features->freeze({.batchnorm_eval = true});
        std::vector<std::int64_t> tr;
        for (auto cls : target) tr.insert(tr.end(), cls.begin(), cls.begin() + a.shots);
        auto train_set = subset(digits, tr, 5);
        auto no_cache = ft.clone();
        const auto t0 = Clock::now();
        {
            data::DataLoader loader(train_set, {.batch_size = 10, .shuffle = true, .seed = 0});
            optim::Adam opt(no_cache->trainable_parameters(), {.lr = a.lr});
            train::Trainer(*no_cache, opt, {.epochs = a.epochs, .progress = train::Progress::Off}).fit(loader);
        }
        const double t_full = std::chrono::duration<double>(Clock::now() - t0).count();
        const auto t1 = Clock::now();
        {
            auto feats = train::cache_features(*ft.features, train_set);
            data::DataLoader loader(feats, {.batch_size = 10, .shuffle = true, .seed = 0});
            optim::Adam opt(ft.head->parameters(), {.lr = a.lr});
            train::Trainer(*ft.head, opt, {.epochs = a.epochs, .progress = train::Progress::Off}).fit(loader);
        }
        const double t_cache = std::chrono::duration<double>(Clock::now() - t1).count();
        double max_diff = 0;
        const auto pa = no_cache->submodule("head")->parameters(), pb = ft.head->parameters();
        for (std::size_t i = 0; i < pa.size(); ++i) {
            const auto va = pa[i].to_vector<float>(), vb = pb[i].to_vector<float>();
            for (std::size_t j = 0; j < va.size(); ++j) max_diff = std::max(max_diff, double(std::fabs(va[j] - vb[j])));
        }
        std::printf("\nfeature cache: head training %.3f s from the cache vs %.3f s through the frozen backbone "
                    "(%.1fx faster); head weights agree to %.1e\n", t_cache, t_full, t_full / t_cache, max_diff);
    }

    // ---- 4. curves -----------------------------------------------------------------------------
    auto mean_curve = [](const std::vector<std::vector<double>>& c) {
        std::vector<std::pair<double, double>> pts;
        for (std::size_t e = 0; e < c.front().size(); ++e) {
            double m = 0;
            for (const auto& run : c) m += run[e];
            pts.emplace_back(static_cast<double>(e + 1), m / static_cast<double>(c.size()));
        }
        return pts;
    };
    examples::write_svg_chart(a.out / "curves.svg",
                              "Digits 5-9, " + std::to_string(a.shots) + " images/class (mean of " + std::to_string(a.seeds) + " seeds)",
                              "epoch", "validation accuracy",
                              {{"fine-tuned", "#1f77b4", mean_curve(ft_curves)}, {"from scratch", "#d62728", mean_curve(sc_curves)}},
                              0.0, 1.0);
    double loss_max = 0;
    for (const auto& run : sc_loss) loss_max = std::max(loss_max, *std::max_element(run.begin(), run.end()));
    examples::write_svg_chart(a.out / "loss.svg",
                              "Digits 5-9, " + std::to_string(a.shots) + " images/class (mean of " + std::to_string(a.seeds) + " seeds)",
                              "epoch", "validation loss",
                              {{"fine-tuned", "#1f77b4", mean_curve(ft_loss)}, {"from scratch", "#d62728", mean_curve(sc_loss)}},
                              0.0, std::ceil(loss_max * 2) / 2);
    std::printf("\n[3/3] curves: %s, %s, %s\n", (a.out / "curves.csv").c_str(), (a.out / "curves.svg").c_str(),
                (a.out / "loss.svg").c_str());

    const double gain_early = mean(ft_early) - mean(sc_early), gain_final = mean(ft_final) - mean(sc_final);
    std::printf("fine-tuned vs scratch: %.1f%% vs %.1f%% after %lld epoch(s) (%+.1f points), %.1f%% vs %.1f%% after %lld "
                "(%+.1f points); %.1fx less wall time\n",
                100 * mean(ft_early), 100 * mean(sc_early), static_cast<long long>(early), 100 * gain_early,
                100 * mean(ft_final), 100 * mean(sc_final), static_cast<long long>(a.epochs), 100 * gain_final,
                mean(sc_time) / mean(ft_time));
    if (!(gain_early > 0)) {
        std::fprintf(stderr, "error: fine-tuning did not beat training from scratch at equal steps\n");
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::guarded_main("finetune_digits", [&] { return run(parse(argc, argv)); });
}
