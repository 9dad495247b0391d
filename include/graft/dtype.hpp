// graft/dtype.hpp — element types and the bf16/f16 storage conversions.
//
//   DType::Float32   the compute type
//   DType::Float64   gradcheck and reference paths
//   DType::Int64/Int32  labels and indices
//   DType::Bool      masks
//   DType::BFloat16/Float16  storage types: load them, then .to(DType::Float32)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace graft {

enum class DType : std::uint8_t { Float32, Float64, Int64, Int32, Bool, BFloat16, Float16 };

/// Size of one element in bytes.
constexpr std::size_t dtype_size(DType t) {
    switch (t) {
        case DType::Float32: return 4;
        case DType::Float64: return 8;
        case DType::Int64: return 8;
        case DType::Int32: return 4;
        case DType::Bool: return 1;
        case DType::BFloat16: return 2;
        case DType::Float16: return 2;
    }
    return 0;
}

/// PyTorch-style name: "float32", "int64", "bfloat16", …
const char* dtype_name(DType t);

/// True for Float32 and Float64, the dtypes that carry gradients and compute.
constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

/// True for BFloat16 and Float16: storage-only types that must be converted before compute.
constexpr bool is_storage_only(DType t) { return t == DType::BFloat16 || t == DType::Float16; }

/// bfloat16 bits, stored as the high half of a float32.
struct bfloat16 {
    std::uint16_t bits;
};

/// IEEE 754 binary16 bits.
struct float16 {
    std::uint16_t bits;
};

/// float32 → bfloat16 with round-to-nearest-even; NaN stays NaN.
inline bfloat16 float_to_bf16(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return bfloat16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};
    u += 0x7fffu + ((u >> 16) & 1u);
    return bfloat16{static_cast<std::uint16_t>(u >> 16)};
}

/// bfloat16 → float32 (exact).
inline float bf16_to_float(bfloat16 h) {
    std::uint32_t u = static_cast<std::uint32_t>(h.bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

/// float32 → IEEE half with round-to-nearest-even, overflow to ±inf, subnormals kept.
float16 float_to_f16(float f);

/// IEEE half → float32 (exact, subnormals included).
float f16_to_float(float16 h);

}  // namespace graft
