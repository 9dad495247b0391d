// models::causal_lm_loss: Hugging Face's shifted next-token cross-entropy.
#include "graft/functional.hpp"
#include "graft/models/causal_lm.hpp"
#include "graft/ops.hpp"

namespace graft::models {

// logits [B, T, V], labels [B, T] → mean over (b, t < T−1, labels[b, t+1] ≠ −100) of −log softmax(logits[b, t])[labels[b, t+1]]
Tensor causal_lm_loss(const Tensor& logits, const Tensor& labels) {
    if (logits.dim() != 3 || labels.dim() != 2 || logits.size(0) != labels.size(0) ||
        logits.size(1) != labels.size(1) || logits.size(1) < 2)
        throw ShapeError("causal_lm_loss: expected logits [B, T, V] and labels [B, T] with T ≥ 2, got logits " +
                         shape_str(logits.shape()) + " and labels " + shape_str(labels.shape()));
    const std::int64_t steps = logits.size(1) - 1;
    const Tensor shifted_logits = logits.narrow(1, 0, steps).reshape({-1, logits.size(2)});
    const Tensor shifted_labels = labels.narrow(1, 1, steps).reshape({-1});
    return nn::functional::cross_entropy(shifted_logits, shifted_labels);
}

}  // namespace graft::models
