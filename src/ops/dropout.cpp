// Dropout: a Bernoulli keep-mask drawn from a Generator, forward followed by its backward; and
// stochastic depth (torchvision.ops.stochastic_depth), one such draw per row, applied by mul.
#include <sstream>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "graft/random.hpp"

namespace graft {

namespace {

// out = x · mask / (1 − p)  ⇒  dx = dout · mask / (1 − p)   (p = 1: out = 0, dx = 0)
struct DropoutBackward final : Node {
    DropoutBackward(double s, bool all) : scale(s), drop_all(all) {}
    const char* name() const override { return "DropoutBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        if (drop_all) return {zeros(g.shape(), g.dtype())};
        const Tensor m = mask.unpack(name()).contiguous();
        const Tensor gc = g.contiguous();
        Tensor dx = empty(g.shape(), g.dtype());
        detail::dispatch_floating(g.dtype(), name(), [&]<class T>() {
            const T s = static_cast<T>(scale);
            const T* gp = gc.data_ptr<T>();
            const bool* mp = m.data_ptr<bool>();
            T* o = dx.data_ptr<T>();
            for (std::int64_t i = 0, n = gc.numel(); i < n; ++i) o[i] = mp[i] ? gp[i] * s : T(0);
        });
        return {dx};
    }
    void release_saved() override { mask.release(); }
    double scale;
    bool drop_all;
    SavedTensor mask;
};

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
    GRAFT_PROFILE_SCOPE("dropout");
    if (!(p >= 0.0 && p <= 1.0)) {
        std::ostringstream msg;
        msg << "dropout: probability p must be in [0, 1], got " << p << " (input shape " << shape_str(x.shape())
            << ")";
        throw ValueError(msg.str());
    }
    if (!training || p == 0.0) return x;
    if (p == 1.0) {
        Tensor out = detail::dispatch_floating(x.dtype(), "dropout", [&]<class T>() {
            return zeros(x.shape(), dtype_of<T>::value);
        });
        autograd::make_node<DropoutBackward>({&x}, out, 0.0, true);
        return out;
    }
    Generator& g = gen ? *gen : default_generator();
    const double scale = 1.0 / (1.0 - p);
    Tensor mask = empty(x.shape(), DType::Bool);
    Tensor out = detail::dispatch_floating(x.dtype(), "dropout", [&]<class T>() {
        const Tensor xc = x.detach().contiguous();
        Tensor o = empty(x.shape(), x.dtype());
        const T* in = xc.data_ptr<T>();
        const T s = static_cast<T>(scale);
        bool* mp = mask.data_ptr<bool>();
        T* op = o.data_ptr<T>();
        for (std::int64_t i = 0, n = xc.numel(); i < n; ++i) {
            const bool keep = g.uniform() >= p;
            mp[i] = keep;
            op[i] = keep ? in[i] * s : T(0);
        }
        return o;
    });
    if (auto node = autograd::make_node<DropoutBackward>({&x}, out, scale, false)) node->mask = SavedTensor(mask);
    return out;
}

// torchvision: noise [N, 1, …, 1] (Row) or [1, …, 1] (Batch) ~ Bernoulli(1 − p), divided by 1 − p
// when that is positive; out = x · noise, whose gradient mul records (dx = dout · noise).
Tensor stochastic_depth(const Tensor& x, double p, StochasticDepthMode mode, bool training, Generator* gen) {
    GRAFT_PROFILE_SCOPE("stochastic_depth");
    if (!(p >= 0.0 && p <= 1.0)) {
        std::ostringstream msg;
        msg << "stochastic_depth: drop probability p must be in [0, 1], got " << p << " (input shape "
            << shape_str(x.shape()) << ")";
        throw ValueError(msg.str());
    }
    if (!training || p == 0.0) return x;
    if (mode == StochasticDepthMode::Row && x.dim() == 0)
        throw ShapeError("stochastic_depth: mode 'row' needs a batch dimension, got a 0-d input");
    Shape noise_shape(static_cast<std::size_t>(x.dim()), 1);
    if (mode == StochasticDepthMode::Row) noise_shape[0] = x.size(0);
    Generator& g = gen ? *gen : default_generator();
    const double survival = 1.0 - p;
    Tensor noise = empty(noise_shape, DType::Float64);
    double* np = noise.data_ptr<double>();
    for (std::int64_t i = 0, n = noise.numel(); i < n; ++i)
        np[i] = g.uniform() < survival ? 1.0 / survival : 0.0;
    return mul(x, noise.to(x.dtype()));
}

}  // namespace graft
