// graft/nn/init.hpp — parameter initialisation, formula for formula torch.nn.init.
//
//   nn::init::kaiming_uniform_(layer.weight, std::sqrt(5.0));        // PyTorch's Linear default
//   nn::init::xavier_normal_(w, nn::init::calculate_gain(nn::init::Nonlinearity::Tanh));
//   Generator g(7); nn::init::trunc_normal_(emb, 0.0, 0.02, -0.04, 0.04, &g);
//
// Every function writes into the tensor in place with recording off (so it works on
// parameters that require grad), draws from `gen` or the default generator, and returns the
// same tensor handle. Values are drawn in double and converted to the tensor's dtype.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "graft/tensor.hpp"

namespace graft {
class Generator;
}

namespace graft::nn::init {

/// Which fan kaiming_* scales by: fan_in keeps the forward variance, fan_out the backward one.
enum class FanMode { FanIn, FanOut };

/// The nonlinearities calculate_gain knows (torch.nn.init's names).
enum class Nonlinearity {
    Linear,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    Sigmoid,
    Tanh,
    ReLU,
    LeakyReLU,
    SELU,
};

/// (fan_in, fan_out) of a weight: size(1)·receptive and size(0)·receptive, where receptive is
/// the product of the dims after the first two. ValueError for fewer than 2 dims.
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

/// The recommended gain: 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for relu,
/// √(2/(1+slope²)) for leaky_relu (param = slope, default 0.01), 3/4 for selu.
double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param = std::nullopt);

/// U(a, b).
Tensor uniform_(const Tensor& tensor, double a = 0.0, double b = 1.0, Generator* gen = nullptr);
/// N(mean, std²).
Tensor normal_(const Tensor& tensor, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
/// N(mean, std²) truncated to [a, b] (exact, by inverse CDF, like PyTorch).
Tensor trunc_normal_(const Tensor& tensor, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0,
                     Generator* gen = nullptr);
/// Every element = value.
Tensor constant_(const Tensor& tensor, double value);
Tensor zeros_(const Tensor& tensor);
Tensor ones_(const Tensor& tensor);

/// U(−bound, bound) with bound = gain·√(6/(fan_in + fan_out)).
Tensor xavier_uniform_(const Tensor& tensor, double gain = 1.0, Generator* gen = nullptr);
/// N(0, std²) with std = gain·√(2/(fan_in + fan_out)).
Tensor xavier_normal_(const Tensor& tensor, double gain = 1.0, Generator* gen = nullptr);

/// U(−bound, bound) with bound = gain·√(3/fan), gain = calculate_gain(nonlinearity, a).
/// Linear and Conv2d use a = √5, which gives bound = 1/√fan_in.
Tensor kaiming_uniform_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator* gen = nullptr);
/// N(0, std²) with std = gain/√fan.
Tensor kaiming_normal_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator* gen = nullptr);

}  // namespace graft::nn::init
