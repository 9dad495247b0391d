// graft/dist/collectives.hpp — the collectives data parallelism needs, on tensors and scalars.
//
//   dist::broadcast_parameters(model);            // every rank starts from rank 0's weights
//   dist::all_reduce(t, dist::ReduceOp::Average); // t: the mean over ranks, in place on every rank
//   double loss = dist::all_reduce(local_loss, dist::ReduceOp::Average);
//
// Every rank must call the same collectives in the same order with tensors of the same shape
// and dtype. Each waits at most timeout_seconds() (environment.hpp), then throws DistError.
#pragma once

#include "graft/nn/module.hpp"
#include "graft/tensor.hpp"

namespace graft::dist {

enum class ReduceOp { Sum, Average, Max, Min };

/// Replaces t's elements, on every rank, by their reduction over ranks. t must be contiguous
/// (float32, float64, int32 or int64); ValueError/DTypeError otherwise. Runs without autograd.
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
/// The reduction of one number over ranks.
double all_reduce(double value, ReduceOp op = ReduceOp::Sum);
/// Copies rank `root`'s elements of t into t on every other rank (contiguous, as all_reduce).
void broadcast(Tensor& t, int root = 0);
/// Waits until every rank has called it.
void barrier();
/// Copies rank `root`'s parameters and buffers into every rank's `module`, after checking that
/// all ranks hold the same names and shapes (DistError naming the first difference).
void broadcast_parameters(nn::Module& module, int root = 0);
/// DistError unless every rank passes the same list of (name, shape) entries; the message names
/// the first entry that differs and the ranks' versions of it. `what` names the caller.
void check_same_across_ranks(const std::vector<std::pair<std::string, Tensor>>& named, const std::string& what);

}  // namespace graft::dist
