// A program outside graft's tree that links graft::graft: computes a small gradient and
// checks it, then batches a dataset on the DataLoader's threads (which needs oneTBB linked),
// so a broken install, export, include path or dependency fails loudly (exit code 1).
#include <graft/graft.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
    using namespace graft;
    // L = Σ (w·x)² / 2 for a leaf w; dL/dw = (w·x)·x.
    Tensor x = from_vector<float>({1.0f, -2.0f, 3.0f});
    Tensor w = from_vector<float>({0.5f, 0.25f, -1.0f}).requires_grad_();
    Tensor wx = w * x;
    Tensor loss = sum(wx * wx) * 0.5;
    loss.backward();

    const std::vector<float> want = {0.5f, 1.0f, -9.0f};  // w·x = [0.5, -0.5, -3]
    const std::vector<float> got = w.grad().to_vector<float>();
    bool ok = got.size() == want.size();
    for (std::size_t i = 0; ok && i < want.size(); ++i) ok = std::fabs(got[i] - want[i]) < 1e-6f;
    if (!ok || std::fabs(loss.item<float>() - 4.75f) > 1e-6f) {
        std::fprintf(stderr, "consumer: wrong result: loss %g, grad %s\n", loss.item<double>(),
                     w.grad().to_string().c_str());
        return 1;
    }
    std::printf("consumer: loss %g, dL/dw = [%g, %g, %g] as expected\n", loss.item<double>(), got[0], got[1], got[2]);

    // Ten samples with labels 0..9 in batches of 4 on two threads: the labels add up to 45.
    auto dataset = std::make_shared<data::TensorDataset>(zeros({10, 3}), arange(10.0));
    std::int64_t label_sum = 0, batches = 0;
    for (const auto& [xb, yb] : data::DataLoader(dataset, {.batch_size = 4, .shuffle = true, .num_threads = 2})) {
        for (std::int64_t label : yb.to_vector<std::int64_t>()) label_sum += label;
        ++batches;
    }
    if (label_sum != 45 || batches != 3) {
        std::fprintf(stderr, "consumer: DataLoader gave %lld batches with labels adding up to %lld\n",
                     static_cast<long long>(batches), static_cast<long long>(label_sum));
        return 1;
    }
    std::printf("consumer: DataLoader gave 3 batches, labels add up to 45 as expected\n");
    return 0;
}
