// graft/models/causal_lm.hpp — what the causal language models (GPT-2, the Llama family) share: the
// next-token loss, the KV cache their forward passes fill, and greedy or sampled decoding
// (temperature, top-k, top-p).
//
//   auto loss = models::causal_lm_loss(model.forward(ids), ids);   // HF's shifted cross-entropy
//   models::KVCache cache;
//   auto logits = model.forward(prompt, &cache);        // caches every layer's keys and values
//   auto more = model.forward(next_token, &cache);      // one new position, continuing the cache
//   auto ids = models::generate(model, prompt, {.max_new_tokens = 20, .temperature = 0.8, .top_p = 0.9, .seed = 1});
//   auto batch = models::generate(model, left_padded, attention_mask, {.max_new_tokens = 20});   // prompts of any lengths
//
// Each family declares a generate(Model&, prompt, options) overload next to its model (gpt2.hpp,
// llama.hpp); they all run generate_tokens below.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graft/tensor.hpp"

namespace graft::models {

/// One layer's cached keys and values, [B, heads, T_cached, head_dim] each (undefined when empty;
/// a grouped-query model caches its num_key_value_heads heads).
struct LayerKV {
    Tensor key;
    Tensor value;
};

/// Keys and values of the positions processed so far, one entry per layer; forward appends the
/// new positions' keys and values and offsets the new positions by length().
struct KVCache {
    std::vector<LayerKV> layers;
    /// Number of cached positions (0 when empty).
    std::int64_t length() const;
    void clear() { layers.clear(); }
};

/// Hugging Face's language-modelling loss: cross-entropy of logits [B, T, V] at positions
/// 0…T−2 against labels [B, T] (int64) at 1…T−1, averaged over labels ≠ −100.
/// ShapeError unless logits is [B, T, V] and labels [B, T] with T ≥ 2.
Tensor causal_lm_loss(const Tensor& logits, const Tensor& labels);

struct GenerateOptions {
    std::int64_t max_new_tokens = 20;
    /// Logits are divided by it before sampling; 0 picks the most likely token (greedy).
    double temperature = 0.0;
    /// Sample among the k most likely tokens (ties at the k-th value included); 0: all of them.
    std::int64_t top_k = 0;
    /// Nucleus sampling, after top_k: sample among the most likely tokens whose probabilities
    /// (after temperature and top_k) first add up to at least top_p, the most likely always kept;
    /// 1: all of them. In (0, 1].
    double top_p = 1.0;
    /// Seeds the sampling stream (graft's Generator); the same seed gives the same tokens.
    std::uint64_t seed = 0;
    /// Feed only the new token each step, with the earlier keys and values cached; false
    /// recomputes the whole sequence every step (same tokens, slower; for tests).
    bool use_cache = true;
};

/// A causal language model as generation sees it: ids int64 [B, T] → logits [B, T, vocab] of
/// those positions, continuing `cache` (and appending to it) when it is not null.
using CausalLMForward = std::function<Tensor(const Tensor& ids, KVCache* cache)>;

/// How far a model's positions reach: the limit and the config key that sets it, for the error.
struct PositionLimit {
    std::int64_t max_positions;
    std::string key;
};

/// prompt_ids int64 [B, T] (T ≥ 1) followed by max_new_tokens ids, each picked from the last
/// position's logits: [B, T + max_new_tokens]. Runs without recording gradients. `op` names the
/// caller in errors. ValueError naming limit->key when T + max_new_tokens exceeds it, and for a
/// negative temperature, top_k or max_new_tokens or a top_p outside (0, 1].
Tensor generate_tokens(const std::string& op, const CausalLMForward& forward, const Tensor& prompt_ids,
                       const GenerateOptions& options, const std::optional<PositionLimit>& limit = std::nullopt);

/// A causal language model that takes Hugging Face's attention_mask [B, cached + T] (int64, 1 at
/// real tokens) and position_ids [B, T] (int64) with the ids.
using PaddedCausalLMForward = std::function<Tensor(const Tensor& ids, KVCache* cache, const Tensor& attention_mask,
                                                   const Tensor& position_ids)>;

/// generate_tokens for prompts of different lengths left-padded to one length T, as HF's generate
/// with an attention_mask: attention_mask [B, T] (int64, int32 or bool; nonzero at real tokens,
/// zeros only before a row's first real token) grows by a 1 per generated token, and the position
/// ids of each row are cumsum(mask) − 1 (1 at padding positions), so a row's first real token sits
/// at position 0 and each row gets the tokens it would get alone. ShapeError for a mask that is
/// not [B, T]; ValueError for a row whose last position is padding (right padding: the new
/// tokens would not follow the row's last real token).
Tensor generate_padded_tokens(const std::string& op, const PaddedCausalLMForward& forward, const Tensor& prompt_ids,
                              const Tensor& attention_mask, const GenerateOptions& options,
                              const std::optional<PositionLimit>& limit = std::nullopt);

}  // namespace graft::models
