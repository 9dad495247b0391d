// graft/graft.hpp — everything a program needs, in one include.
//
//   #include <graft/graft.hpp>
//   using namespace graft;
//   auto w = randn({10, 4}).requires_grad_();
//   auto loss = nn::functional::mse_loss(matmul(x, w.t()), y);
//   loss.backward();
#pragma once

#include "graft/autograd.hpp"
#include "graft/dtype.hpp"
#include "graft/error.hpp"
#include "graft/nn/functional.hpp"
#include "graft/ops.hpp"
#include "graft/random.hpp"
#include "graft/storage.hpp"
#include "graft/tensor.hpp"
