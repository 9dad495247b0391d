// Batched generation from left-padded prompts of different lengths against generating each prompt
// alone, for any causal language model family with HF's attention_mask and position_ids
// (models::generate(model, ids, mask, options); forward(ids, cache, mask, position_ids)).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "golden_compare.hpp"
#include "graft/graft.hpp"

namespace graft::test {

/// Left-pads `prompts` with `pad` to the longest; checks, with and without the KV cache, that the
/// batch generates for every row the tokens that row generates alone (greedy), and that the
/// padded forward's logits at each row's real tokens equal the row's own.
template <class Model>
void expect_padded_batch_matches_each_prompt(Model& model, const std::vector<std::vector<std::int64_t>>& prompts,
                                             std::int64_t pad, std::int64_t new_tokens) {
    const auto batch = static_cast<std::int64_t>(prompts.size());
    std::int64_t width = 0;
    for (const auto& p : prompts) width = std::max<std::int64_t>(width, static_cast<std::int64_t>(p.size()));
    std::vector<std::int64_t> ids, mask, positions;
    for (const auto& p : prompts) {
        const auto padding = width - static_cast<std::int64_t>(p.size());
        for (std::int64_t t = 0; t < width; ++t) {
            const bool real = t >= padding;
            ids.push_back(real ? p[static_cast<std::size_t>(t - padding)] : pad);
            mask.push_back(real ? 1 : 0);
            positions.push_back(real ? t - padding : 1);
        }
    }
    const Tensor ids_t = from_vector(ids, {batch, width}), mask_t = from_vector(mask, {batch, width});
    for (bool use_cache : {true, false}) {
        const models::GenerateOptions options{.max_new_tokens = new_tokens, .use_cache = use_cache};
        const Tensor together = models::generate(model, ids_t, mask_t, options);
        ASSERT_EQ(together.shape(), (Shape{batch, width + new_tokens}));
        for (std::int64_t b = 0; b < batch; ++b) {
            const auto& p = prompts[static_cast<std::size_t>(b)];
            const auto len = static_cast<std::int64_t>(p.size());
            const Tensor alone = models::generate(model, from_vector(p, {1, len}), options);
            EXPECT_EQ(together.select(0, b).narrow(0, width, new_tokens).to_vector<std::int64_t>(),
                      alone.select(0, 0).narrow(0, len, new_tokens).to_vector<std::int64_t>())
                << "row " << b << ", use_cache " << use_cache;
        }
    }
    NoGradGuard guard;
    const Tensor logits = model.forward(ids_t, nullptr, mask_t, from_vector(positions, {batch, width}));
    for (std::int64_t b = 0; b < batch; ++b) {
        const auto& p = prompts[static_cast<std::size_t>(b)];
        const auto len = static_cast<std::int64_t>(p.size());
        const Tensor alone = model.forward(from_vector(p, {1, len}));
        expect_close("row " + std::to_string(b) + " logits", logits.narrow(0, b, 1).narrow(1, width - len, len).contiguous(),
                     alone, {1e-5, 1e-4});
    }
}

}  // namespace graft::test
