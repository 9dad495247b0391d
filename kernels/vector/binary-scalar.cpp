// The reference float32 binary arithmetic kernels: one C++ float operation per element.
#include "kernels/vector/vector.hpp"

namespace graft::kernels {

namespace {

float apply(BinaryOp op, float a, float b) {
    switch (op) {
        case BinaryOp::Add: return a + b;
        case BinaryOp::Sub: return a - b;
        case BinaryOp::Mul: return a * b;
        case BinaryOp::Div: return a / b;
    }
    return a;
}

}  // namespace

void f32_binary__scalar(BinaryOp op, int64 n, const float* a, const float* b, float* y) {
    for (int64 i = 0; i < n; ++i) y[i] = apply(op, a[i], b[i]);
}

void f32_binary_scalar__scalar(BinaryOp op, int64 n, const float* a, float s, bool scalar_first, float* y) {
    if (scalar_first) {
        for (int64 i = 0; i < n; ++i) y[i] = apply(op, s, a[i]);
    } else {
        for (int64 i = 0; i < n; ++i) y[i] = apply(op, a[i], s);
    }
}

}  // namespace graft::kernels
