// nn::init: fans, gains and the in-place initialisers (torch.nn.init's formulas).
#include "graft/nn/init.hpp"

#include <cmath>
#include <sstream>
#include <string>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/random.hpp"

namespace graft::nn::init {

namespace {

constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kSqrt2Pi = 2.50662827463100050242;

void check_target(const Tensor& tensor, const char* op) {
    if (!tensor.defined()) throw ValueError(std::string(op) + ": tensor is undefined");
    if (!is_floating(tensor.dtype()))
        throw DTypeError(std::string(op) + ": expected a floating-point tensor, got " + dtype_name(tensor.dtype()) +
                         " (shape " + shape_str(tensor.shape()) + ")");
}

/// Writes draw() into every element (row-major order) with recording off and returns the handle.
template <class Draw>
Tensor fill_with(const Tensor& tensor, const char* op, Draw&& draw) {
    check_target(tensor, op);
    Tensor values = empty(tensor.shape(), tensor.dtype());
    detail::dispatch_floating(values.dtype(), op, [&]<class T>() {
        T* p = values.data_ptr<T>();
        for (std::int64_t i = 0, n = values.numel(); i < n; ++i) p[i] = static_cast<T>(draw());
    });
    NoGradGuard guard;
    Tensor(tensor).copy_(values);
    return tensor;
}

std::string num(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / kSqrt2); }

/// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error 1.2e-9) refined by
/// one Halley step on erfc, which brings it to double precision.
double inverse_normal_cdf(double p) {
    if (p <= 0.0) return -INFINITY;
    if (p >= 1.0) return INFINITY;
    static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                   1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                   6.680131188771972e+01, -1.328068155288572e+01};
    static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                   -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                   3.754408661907416e+00};
    constexpr double p_low = 0.02425;
    double x;
    if (p < p_low || p > 1.0 - p_low) {
        const double q = std::sqrt(-2.0 * std::log(p < p_low ? p : 1.0 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
        if (p > 1.0 - p_low) x = -x;
    } else {
        const double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    const double e = normal_cdf(x) - p;
    const double u = e * kSqrt2Pi * std::exp(0.5 * x * x);
    return x - u / (1.0 + 0.5 * x * u);
}

std::int64_t pick_fan(const Tensor& tensor, FanMode mode) {
    const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
    return mode == FanMode::FanIn ? fan_in : fan_out;
}

}  // namespace

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
    if (!tensor.defined()) throw ValueError("calculate_fan_in_and_fan_out: tensor is undefined");
    if (tensor.dim() < 2)
        throw ValueError("calculate_fan_in_and_fan_out: fan in and fan out need a tensor with at least 2 dimensions, "
                         "got shape " + shape_str(tensor.shape()));
    std::int64_t receptive = 1;
    for (std::int64_t d = 2; d < tensor.dim(); ++d) receptive *= tensor.size(d);
    return {tensor.size(1) * receptive, tensor.size(0) * receptive};
}

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
    switch (nonlinearity) {
        case Nonlinearity::Linear:
        case Nonlinearity::Conv1d:
        case Nonlinearity::Conv2d:
        case Nonlinearity::Conv3d:
        case Nonlinearity::ConvTranspose1d:
        case Nonlinearity::ConvTranspose2d:
        case Nonlinearity::ConvTranspose3d:
        case Nonlinearity::Sigmoid: return 1.0;
        case Nonlinearity::Tanh: return 5.0 / 3.0;
        case Nonlinearity::ReLU: return std::sqrt(2.0);
        case Nonlinearity::LeakyReLU: {
            const double slope = param.value_or(0.01);
            return std::sqrt(2.0 / (1.0 + slope * slope));
        }
        case Nonlinearity::SELU: return 0.75;
    }
    throw ValueError("calculate_gain: unknown nonlinearity");
}

Tensor uniform_(const Tensor& tensor, double a, double b, Generator* gen) {
    if (!(a <= b)) throw ValueError("uniform_: expected a <= b, got a=" + num(a) + ", b=" + num(b));
    Generator& g = gen ? *gen : default_generator();
    return fill_with(tensor, "uniform_", [&] { return a + (b - a) * g.uniform(); });
}

Tensor normal_(const Tensor& tensor, double mean, double std, Generator* gen) {
    if (!(std >= 0.0)) throw ValueError("normal_: expected std >= 0, got " + num(std));
    Generator& g = gen ? *gen : default_generator();
    return fill_with(tensor, "normal_", [&] { return mean + std * g.normal(); });
}

Tensor trunc_normal_(const Tensor& tensor, double mean, double std, double a, double b, Generator* gen) {
    if (!(std > 0.0)) throw ValueError("trunc_normal_: expected std > 0, got " + num(std));
    if (!(a < b)) throw ValueError("trunc_normal_: expected a < b, got a=" + num(a) + ", b=" + num(b));
    Generator& g = gen ? *gen : default_generator();
    // Sample the standardised interval on the side of the mean where Φ keeps its precision:
    // an interval above the mean is mirrored below it and the draw negated.
    double lo = (a - mean) / std, hi = (b - mean) / std;
    const bool mirrored = lo > 0.0;
    if (mirrored) {
        const double t = lo;
        lo = -hi;
        hi = -t;
    }
    const double cdf_lo = normal_cdf(lo), cdf_hi = normal_cdf(hi);
    return fill_with(tensor, "trunc_normal_", [&] {
        const double z = inverse_normal_cdf(cdf_lo + (cdf_hi - cdf_lo) * g.uniform());
        const double v = mean + std * (mirrored ? -z : z);
        return std::fmin(std::fmax(v, a), b);
    });
}

Tensor constant_(const Tensor& tensor, double value) {
    check_target(tensor, "constant_");
    NoGradGuard guard;
    Tensor(tensor).fill_(value);
    return tensor;
}

Tensor zeros_(const Tensor& tensor) { return constant_(tensor, 0.0); }

Tensor ones_(const Tensor& tensor) { return constant_(tensor, 1.0); }

Tensor xavier_uniform_(const Tensor& tensor, double gain, Generator* gen) {
    check_target(tensor, "xavier_uniform_");
    if (tensor.numel() == 0) return tensor;
    const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    return uniform_(tensor, -bound, bound, gen);
}

Tensor xavier_normal_(const Tensor& tensor, double gain, Generator* gen) {
    check_target(tensor, "xavier_normal_");
    if (tensor.numel() == 0) return tensor;
    const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
    return normal_(tensor, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

Tensor kaiming_uniform_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity, Generator* gen) {
    check_target(tensor, "kaiming_uniform_");
    if (tensor.numel() == 0) return tensor;
    const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(pick_fan(tensor, mode)));
    const double bound = std::sqrt(3.0) * std;
    return uniform_(tensor, -bound, bound, gen);
}

Tensor kaiming_normal_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity, Generator* gen) {
    check_target(tensor, "kaiming_normal_");
    if (tensor.numel() == 0) return tensor;
    const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(pick_fan(tensor, mode)));
    return normal_(tensor, 0.0, std, gen);
}

}  // namespace graft::nn::init
