// graft/nn/functional.hpp — torch.nn.functional's home for PyTorch users: the functional forms
// of layers and the losses (namespace graft::nn::functional) are part of the ops layer and are
// declared in graft/functional.hpp, which this includes.
#pragma once
#include "graft/functional.hpp"
