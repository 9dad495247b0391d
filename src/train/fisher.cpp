// The diagonal empirical Fisher, one example at a time, and its safetensors file.
#include "graft/train/fisher.hpp"

#include <string>
#include <utility>
#include <vector>

#include "graft/autograd.hpp"
#include "graft/error.hpp"
#include "graft/functional.hpp"
#include "graft/io/safetensors.hpp"
#include "graft/ops.hpp"

namespace graft::train {

namespace {

constexpr const char* kFisherKey = "graft.content";
constexpr const char* kFisherValue = "diagonal empirical Fisher";

}  // namespace

StateDict estimate_fisher(nn::Module& model, data::DataLoader& source, std::int64_t batches, const LossFn& loss) {
    if (batches < 1) throw ValueError("estimate_fisher: batches must be >= 1, got " + std::to_string(batches));
    const LossFn loss_fn = loss ? loss : LossFn([](const Tensor& out, const Tensor& target) {
        return nn::functional::cross_entropy(out, target);
    });

    // Every floating-point parameter takes part; the frozen ones only for this estimate.
    std::vector<std::pair<std::string, Tensor>> params;
    for (auto& [name, p] : model.named_parameters())
        if (is_floating(p.dtype())) params.emplace_back(name, p);
    struct Restore {
        nn::Module* model;
        bool training;
        std::vector<std::pair<Tensor, bool>> flags;
        ~Restore() {
            for (auto& [p, trainable] : flags) {
                p.set_grad(Tensor());
                p.requires_grad_(trainable);
            }
            model->train(training);
        }
    } restore{&model, model.is_training(), {}};
    for (auto& [name, p] : params) {
        restore.flags.emplace_back(p, p.requires_grad());
        p.requires_grad_(true);
        p.set_grad(Tensor());
    }
    model.eval();
    EnableGradGuard grad_on;

    std::vector<Tensor> sums;
    for (auto& [name, p] : params) sums.push_back(zeros(p.shape(), DType::Float32));
    std::int64_t examples = 0, seen_batches = 0;
    for (const data::Example& batch : source) {
        if (seen_batches++ == batches) break;
        const std::int64_t n = batch.input.dim() > 0 ? batch.input.size(0) : 1;
        for (std::int64_t i = 0; i < n; ++i) {
            const Tensor x = batch.input.dim() > 0 ? batch.input.narrow(0, i, 1) : batch.input;
            const Tensor y = batch.target.dim() > 0 ? batch.target.narrow(0, i, 1) : batch.target;
            const Tensor l = loss_fn(model.forward(x), y);
            if (l.numel() != 1)
                throw ShapeError("estimate_fisher: the loss function must return one value, got shape " + shape_str(l.shape()));
            l.backward();
            NoGradGuard no_grad;
            for (std::size_t k = 0; k < params.size(); ++k) {
                Tensor& p = params[k].second;
                const Tensor g = p.grad();
                if (g.defined()) {
                    const Tensor g32 = g.to(DType::Float32);
                    sums[k] = sums[k] + g32 * g32;  // (∂ℓ/∂w)²
                }
                p.set_grad(Tensor());
            }
            ++examples;
        }
    }
    if (examples == 0) throw ValueError("estimate_fisher: the source loader yielded no example");
    StateDict fisher;
    NoGradGuard no_grad;
    for (std::size_t k = 0; k < params.size(); ++k)
        fisher.insert(params[k].first, (sums[k] / static_cast<double>(examples)).contiguous());
    return fisher;
}

std::filesystem::path fisher_path(const std::filesystem::path& weights) {
    std::filesystem::path p = weights;
    return p.replace_extension(".fisher.safetensors");
}

void save_fisher(const std::filesystem::path& path, const StateDict& fisher) {
    io::save_safetensors(path, fisher, {{kFisherKey, kFisherValue}});
}

StateDict load_fisher(const std::filesystem::path& path) {
    io::SafetensorsFile file = io::read_safetensors(path);
    auto it = file.metadata.find(kFisherKey);
    if (it == file.metadata.end() || it->second != kFisherValue)
        throw IOError("load_fisher: " + path.string() + " is not a Fisher file (no '" + kFisherKey + "' = '" +
                      kFisherValue + "' metadata: save_fisher writes it)");
    return std::move(file.tensors);
}

}  // namespace graft::train
