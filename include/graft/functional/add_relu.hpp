// graft/functional/add_relu.hpp — relu(a + b) as one op, the join of a residual block.
//
//   auto y = nn::functional::add_relu(branch, shortcut);   // == relu(add(branch, shortcut))
//
// ResNet's BasicBlock and Bottleneck end in relu(bn(conv(h)) + shortcut): one op gives one result
// tensor (the ReLU runs in place over the sum) and one masked backward pass whose result goes to
// both operands, where add then relu keep two tensors and make two passes each way.
#pragma once

#include "graft/tensor.hpp"

namespace graft::nn::functional {

/// relu(a + b). Broadcasting, dtype rules and errors are add's; mixed float32/float64 operands
/// run as relu(add(a, b)).
Tensor add_relu(const Tensor& a, const Tensor& b);

}  // namespace graft::nn::functional
