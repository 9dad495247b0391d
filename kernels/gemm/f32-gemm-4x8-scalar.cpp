// f32_gemm_4x8__scalar: the portable float32 GEMM micro-kernel (contract in ukernel.hpp).
//
// Plain C++ for baseline x86-64 (the compiler may use SSE2): a 4×8 tile of accumulators, one
// row of the B panel and four elements of the A panel per step of k. It runs the blocked driver
// on CPUs without AVX2 and under GRAFT_ISA=scalar; its epilogue is the activations' definition
// in float (std::tanh, std::erf) that the SIMD variants approximate.
#include <cmath>

#include "kernels/gemm/ukernel.hpp"

namespace graft::kernels {
namespace {

constexpr int MR = 4, NR = 8;

float activate(float v, Activation act) {
    switch (act) {
        case Activation::None: return v;
        case Activation::Relu: return v < 0.f ? 0.f : v;
        case Activation::GeluTanh:
            return 0.5f * v * (1.f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        case Activation::GeluErf: return 0.5f * v * (1.f + std::erf(v * 0.7071067811865476f));
    }
    return v;
}

}  // namespace

void f32_gemm_4x8__scalar(const F32GemmTile& t) {
    float acc[MR][NR] = {};
    const float* a = t.a;
    const float* b = t.b;
    for (int64 p = 0; p < t.kc; ++p, a += t.lda, b += t.ldb)
        for (int i = 0; i < MR; ++i) {
            const float ai = i < t.rows ? a[i] : 0.f;
            for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
        }
    for (int i = 0; i < t.rows; ++i)
        for (int j = 0; j < t.cols; ++j) {
            float& c = t.c[i * t.rs_c + j * t.cs_c];
            float out = t.alpha * acc[i][j] + (t.bias ? t.bias[j] : 0.f);
            if (t.beta != 0.f) out += t.beta * c;
            c = activate(out, t.act);
        }
}

}  // namespace graft::kernels
