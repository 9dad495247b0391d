// graft/graft.hpp — everything a program needs, in one include.
//
//   #include <graft/graft.hpp>
//   using namespace graft;
//   auto w = randn({10, 4}).requires_grad_();
//   auto loss = nn::functional::mse_loss(matmul(x, w.t()), y);
//   loss.backward();
#pragma once

#include "graft/autograd.hpp"
#include "graft/data/csv.hpp"
#include "graft/data/dataloader.hpp"
#include "graft/data/dataset.hpp"
#include "graft/data/images.hpp"
#include "graft/data/subset.hpp"
#include "graft/data/transformed_dataset.hpp"
#include "graft/data/transforms.hpp"
#include "graft/dtype.hpp"
#include "graft/error.hpp"
#include "graft/io/checkpoint.hpp"
#include "graft/io/safetensors.hpp"
#include "graft/nn/activation.hpp"
#include "graft/nn/batchnorm.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/conv.hpp"
#include "graft/nn/dropout.hpp"
#include "graft/nn/embedding.hpp"
#include "graft/nn/flatten.hpp"
#include "graft/nn/functional.hpp"
#include "graft/nn/init.hpp"
#include "graft/nn/linear.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/normalization.hpp"
#include "graft/nn/pooling.hpp"
#include "graft/ops.hpp"
#include "graft/optim/adam.hpp"
#include "graft/optim/clip_grad.hpp"
#include "graft/optim/lr_scheduler.hpp"
#include "graft/optim/optimizer.hpp"
#include "graft/optim/rmsprop.hpp"
#include "graft/optim/sgd.hpp"
#include "graft/random.hpp"
#include "graft/runtime.hpp"
#include "graft/storage.hpp"
#include "graft/tensor.hpp"
