// dtype names and the IEEE half conversions.
#include "graft/dtype.hpp"

namespace graft {

const char* dtype_name(DType t) {
    switch (t) {
        case DType::Float32: return "float32";
        case DType::Float64: return "float64";
        case DType::Int64: return "int64";
        case DType::Int32: return "int32";
        case DType::Bool: return "bool";
        case DType::BFloat16: return "bfloat16";
        case DType::Float16: return "float16";
    }
    return "unknown";
}

float16 float_to_f16(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    const std::uint32_t sign = (u >> 16) & 0x8000u;
    const std::uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return float16{static_cast<std::uint16_t>(sign | 0x7e00u)};  // NaN
    if (abs >= 0x477ff000u) return float16{static_cast<std::uint16_t>(sign | 0x7c00u)};  // overflow → inf
    if (abs < 0x38800000u) {
        // Result is subnormal (or zero) in half: value = m · 2^-24 with m < 1024.
        if (abs < 0x33000000u) return float16{static_cast<std::uint16_t>(sign)};  // below half of the smallest
        const int exp = static_cast<int>(abs >> 23);
        const std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
        const int shift = 126 - exp;  // 14 + (112 - exp) … aligns to 2^-24 units
        std::uint32_t half = mant >> shift;
        const std::uint32_t rem = mant & ((1u << shift) - 1u);
        const std::uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
        return float16{static_cast<std::uint16_t>(sign | half)};
    }
    // Normal: rebias exponent (127 → 15) and round the 13 dropped mantissa bits to nearest even.
    std::uint32_t v = abs - 0x38000000u;
    v += 0xfffu + ((v >> 13) & 1u);
    return float16{static_cast<std::uint16_t>(sign | (v >> 13))};
}

float f16_to_float(float16 h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
    std::uint32_t exp = (h.bits >> 10) & 0x1fu;
    std::uint32_t mant = h.bits & 0x3ffu;
    std::uint32_t u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (mant << 13);
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        u = sign;
    } else {
        // Subnormal half: normalise.
        exp = 113;
        while ((mant & 0x400u) == 0) {
            mant <<= 1;
            --exp;
        }
        u = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

}  // namespace graft
