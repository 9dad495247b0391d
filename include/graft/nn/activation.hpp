// graft/nn/activation.hpp — activation functions as layers (no parameters).
//
//   nn::Sequential mlp{nn::Linear(784, 256), nn::GELU(), nn::Linear(256, 10), nn::Softmax(1)};
//   nn::LeakyReLU act(0.2);   auto y = act.forward(x);
#pragma once

#include <cstdint>
#include <string>

#include "graft/nn/module.hpp"
#include "graft/ops.hpp"

namespace graft::nn {

/// max(x, 0).
class ReLU : public Cloneable<ReLU> {
public:
    ReLU() { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ReLU"; }
};

/// min(max(x, 0), 6) (hardtanh's gradient: 0 at the bounds).
class ReLU6 : public Cloneable<ReLU6> {
public:
    ReLU6() { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ReLU6"; }
};

/// x·relu6(x + 3)/6.
class Hardswish : public Cloneable<Hardswish> {
public:
    Hardswish() { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Hardswish"; }
};

/// relu6(x + 3)/6.
class Hardsigmoid : public Cloneable<Hardsigmoid> {
public:
    Hardsigmoid() { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Hardsigmoid"; }
};

/// x·Φ(x), or its tanh approximation with GeluApprox::Tanh.
class GELU : public Cloneable<GELU> {
public:
    explicit GELU(GeluApprox approximate = GeluApprox::None) : approximate(approximate) { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "GELU"; }
    std::string extra_repr() const override;

    GeluApprox approximate;
};

/// x·σ(x).
class SiLU : public Cloneable<SiLU> {
public:
    SiLU() { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SiLU"; }
};

class Tanh : public Cloneable<Tanh> {
public:
    Tanh() { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Tanh"; }
};

/// 1/(1 + e⁻ˣ).
class Sigmoid : public Cloneable<Sigmoid> {
public:
    Sigmoid() { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Sigmoid"; }
};

/// x for x > 0, negative_slope·x otherwise.
class LeakyReLU : public Cloneable<LeakyReLU> {
public:
    explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "LeakyReLU"; }
    std::string extra_repr() const override;

    double negative_slope;
};

/// softmax along `dim` (negative counts from the end).
class Softmax : public Cloneable<Softmax> {
public:
    explicit Softmax(std::int64_t dim) : dim(dim) { reset(); }
    void reset() override {}
    /// IndexError naming the layer and the input shape when dim is out of range.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Softmax"; }
    std::string extra_repr() const override;

    std::int64_t dim;
};

}  // namespace graft::nn
