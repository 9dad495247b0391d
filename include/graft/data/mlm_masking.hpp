// graft/data/mlm_masking.hpp — BERT's masked-language-model corruption of a text batch.
//
//   data::MlmMaskingOptions mlm{.mask_id = *tok.token_to_id("[MASK]"), .vocab_size = (std::int64_t)tok.vocab_size(),
//                               .special_ids = {cls, sep, pad}};
//   Generator gen(1);
//   for (const auto& batch : loader) {                       // text_collate batches
//       data::Example masked = data::mask_tokens(batch, mlm, gen);
//       Tensor logits = model.forward(masked.input, masked.fields.at("attention_mask"));
//       Tensor loss = F::cross_entropy(logits.reshape({-1, V}), masked.target.reshape({-1}));   // -100 ignored
//   }
//
// As Hugging Face's DataCollatorForLanguageModeling: each token is chosen with `probability`
// (15 %), never a padding position (attention_mask 0) nor one of special_ids; of the chosen,
// 80 % become mask_id, 10 % a uniformly random id in [0, vocab_size), 10 % stay. The labels hold
// the original id at chosen positions and -100 (cross_entropy's ignore_index) elsewhere. The
// draws come from `gen` in row-major order, so the same generator state gives the same masking.
#pragma once

#include <cstdint>
#include <vector>

#include "graft/data/dataset.hpp"
#include "graft/random.hpp"

namespace graft::data {

struct MlmMaskingOptions {
    std::int64_t mask_id = -1;
    std::int64_t vocab_size = 0;
    /// Ids never chosen ([CLS], [SEP], [PAD], …).
    std::vector<std::int64_t> special_ids = {};
    double probability = 0.15;
    /// Of the chosen tokens: the share replaced by mask_id, and the share by a random id.
    double mask_fraction = 0.8;
    double random_fraction = 0.1;
};

/// `batch` (input ids int64 [B, T], fields["attention_mask"] [B, T] optional) with its input
/// corrupted and target = the labels int64 [B, T]; other fields kept. ValueError for options out
/// of range (mask_id outside [0, vocab_size), probability or fractions outside [0, 1], fractions
/// summing above 1) or ids that are not int64 [B, T].
Example mask_tokens(const Example& batch, const MlmMaskingOptions& options, Generator& gen);

}  // namespace graft::data
