// A program outside graft's tree that links graft::graft: computes a small gradient and
// checks it, so a broken install, export or include path fails loudly (exit code 1).
#include <graft/graft.hpp>

#include <cmath>
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
    return 0;
}
