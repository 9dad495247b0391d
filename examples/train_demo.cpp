// train_demo — trains a small MLP on a synthetic 3-class spiral with graft's autograd.
//
//   build/examples/train_demo                  # 150 epochs, seed 1
//   build/examples/train_demo --epochs 300 --seed 7
//
// The model is two linear layers with a ReLU between them. Its weights are plain leaf
// tensors with requires_grad_(); each step computes the cross-entropy of a mini-batch,
// calls backward(), and applies SGD by hand under NoGradGuard. (nn modules and optimizers
// are planned; this shows the autograd core they build on.) Exits non-zero if the loss
// did not fall.
#include <graft/graft.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace graft;
namespace F = graft::nn::functional;

constexpr std::int64_t kClasses = 3;
constexpr std::int64_t kPointsPerClass = 200;
constexpr std::int64_t kHidden = 64;
constexpr std::int64_t kBatch = 60;
constexpr double kLearningRate = 0.3;

struct Options {
    int epochs = 150;
    std::uint64_t seed = 1;
};

void print_usage(const char* argv0) {
    std::printf(
        "usage: %s [--epochs N] [--seed S] [--help]\n"
        "Trains a 2-64-3 MLP (linear, relu, linear) on a synthetic 3-class spiral with\n"
        "mini-batch SGD and prints the loss and accuracy as it learns.\n"
        "  --epochs N   passes over the 600 training points (default 150)\n"
        "  --seed S     seed for the data, the initial weights and the shuffling (default 1)\n",
        argv0);
}

bool parse_int(const char* text, long long min, long long& out) {
    char* end = nullptr;
    const long long v = std::strtoll(text, &end, 10);
    if (end == text || *end != '\0' || v < min) return false;
    out = v;
    return true;
}

/// Returns false (after printing why) when the arguments are not understood.
bool parse_args(int argc, char** argv, Options& opt, bool& help) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        long long value = 0;
        if (arg == "--help" || arg == "-h") {
            help = true;
        } else if ((arg == "--epochs" || arg == "--seed") && i + 1 < argc) {
            if (!parse_int(argv[++i], 0, value)) {
                std::fprintf(stderr, "train_demo: %s expects a non-negative integer, got '%s'\n", arg.c_str(),
                             argv[i]);
                return false;
            }
            if (arg == "--epochs")
                opt.epochs = static_cast<int>(value);
            else
                opt.seed = static_cast<std::uint64_t>(value);
        } else {
            std::fprintf(stderr, "train_demo: unknown or incomplete argument '%s' (see --help)\n", arg.c_str());
            return false;
        }
    }
    return true;
}

/// Three interleaved spiral arms in the plane: x [N, 2] float32, labels [N] int64.
std::pair<Tensor, Tensor> make_spiral(Generator& gen) {
    std::vector<float> points;
    std::vector<std::int64_t> labels;
    for (std::int64_t c = 0; c < kClasses; ++c) {
        for (std::int64_t i = 0; i < kPointsPerClass; ++i) {
            const double r = static_cast<double>(i) / static_cast<double>(kPointsPerClass - 1);
            const double theta = 4.0 * static_cast<double>(c) + 4.0 * r + 0.2 * gen.normal();
            points.push_back(static_cast<float>(r * std::sin(theta)));
            points.push_back(static_cast<float>(r * std::cos(theta)));
            labels.push_back(c);
        }
    }
    const std::int64_t n = kClasses * kPointsPerClass;
    return {from_vector(points, {n, 2}), from_vector(labels, {n})};
}

/// 0..n-1 in a random order (Fisher–Yates), as an int64 index tensor.
Tensor shuffled_indices(std::int64_t n, Generator& gen) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    for (std::int64_t i = n - 1; i > 0; --i)
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(gen.randint(0, i + 1))]);
    return from_vector(order, {n});
}

/// Kaiming-normal weights [out, in] for a ReLU network, as a leaf that requires grad.
Tensor init_weight(std::int64_t out, std::int64_t in) {
    Tensor w = randn({out, in}) * std::sqrt(2.0 / static_cast<double>(in));
    return w.requires_grad_();
}

struct Mlp {
    Tensor w1 = init_weight(kHidden, 2);
    Tensor b1 = zeros({kHidden}).requires_grad_();
    Tensor w2 = init_weight(kClasses, kHidden);
    Tensor b2 = zeros({kClasses}).requires_grad_();

    Tensor forward(const Tensor& x) const { return F::linear(F::relu(F::linear(x, w1, b1)), w2, b2); }
    std::vector<Tensor*> parameters() { return {&w1, &b1, &w2, &b2}; }
};

/// Loss and accuracy of the model over the whole set, without recording a graph.
std::pair<double, double> evaluate(const Mlp& model, const Tensor& x, const Tensor& y) {
    NoGradGuard no_grad;
    const Tensor logits = model.forward(x);
    const double loss = F::cross_entropy(logits, y).item<double>();
    const double accuracy = mean(eq(argmax(logits, 1), y).to(DType::Float32)).item<double>();
    return {loss, accuracy};
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    bool help = false;
    if (!parse_args(argc, argv, opt, help)) return 2;
    if (help) {
        print_usage(argv[0]);
        return 0;
    }

    try {
        manual_seed(opt.seed);
        Generator data_gen(opt.seed);
        const auto [x, y] = make_spiral(data_gen);
        const std::int64_t n = x.size(0);
        Mlp model;

        const auto [initial_loss, initial_accuracy] = evaluate(model, x, y);
        std::printf("spiral: %lld points, %lld classes; MLP 2-%lld-%lld; batch %lld, lr %.2f, seed %llu\n",
                    static_cast<long long>(n), static_cast<long long>(kClasses), static_cast<long long>(kHidden),
                    static_cast<long long>(kClasses), static_cast<long long>(kBatch), kLearningRate,
                    static_cast<unsigned long long>(opt.seed));
        std::printf("epoch %4d  loss %.4f  accuracy %5.1f%%\n", 0, initial_loss, 100.0 * initial_accuracy);

        const int report_every = opt.epochs >= 10 ? opt.epochs / 10 : 1;
        double final_loss = initial_loss;
        for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
            const Tensor order = shuffled_indices(n, default_generator());
            for (std::int64_t start = 0; start < n; start += kBatch) {
                const Tensor idx = order.narrow(0, start, std::min(kBatch, n - start));
                const Tensor loss = F::cross_entropy(model.forward(index_select(x, 0, idx)), index_select(y, 0, idx));
                loss.backward();
                NoGradGuard no_grad;  // the update itself must not be recorded
                for (Tensor* p : model.parameters()) {
                    p->sub_(p->grad(), kLearningRate);
                    p->set_grad(Tensor());
                }
            }
            if (epoch % report_every == 0 || epoch == opt.epochs) {
                const auto [loss, accuracy] = evaluate(model, x, y);
                final_loss = loss;
                std::printf("epoch %4d  loss %.4f  accuracy %5.1f%%\n", epoch, loss, 100.0 * accuracy);
            }
        }

        if (opt.epochs > 0 && !(final_loss < initial_loss)) {
            std::fprintf(stderr, "train_demo: the loss did not fall (%.4f -> %.4f)\n", initial_loss, final_loss);
            return 1;
        }
    } catch (const graft::Error& e) {
        std::fprintf(stderr, "train_demo: %s\n", e.what());
        return 1;
    }
    return 0;
}
