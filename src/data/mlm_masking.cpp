// mask_tokens: 15 % of the tokens chosen, 80/10/10 masked/random/kept, labels -100 elsewhere.
#include "graft/data/mlm_masking.hpp"

#include <algorithm>
#include <string>

#include "graft/error.hpp"

namespace graft::data {

Example mask_tokens(const Example& batch, const MlmMaskingOptions& o, Generator& gen) {
    const auto in_unit = [](double p) { return p >= 0.0 && p <= 1.0; };
    if (o.vocab_size <= 0 || o.mask_id < 0 || o.mask_id >= o.vocab_size)
        throw ValueError("mask_tokens: mask_id " + std::to_string(o.mask_id) + " must lie in [0, vocab_size " +
                         std::to_string(o.vocab_size) + ")");
    if (!in_unit(o.probability) || !in_unit(o.mask_fraction) || !in_unit(o.random_fraction) ||
        o.mask_fraction + o.random_fraction > 1.0)
        throw ValueError("mask_tokens: probability " + std::to_string(o.probability) + ", mask_fraction " +
                         std::to_string(o.mask_fraction) + " and random_fraction " + std::to_string(o.random_fraction) +
                         " must lie in [0, 1], the fractions summing to at most 1");
    if (!batch.input.defined() || batch.input.dim() != 2 || batch.input.dtype() != DType::Int64)
        throw ValueError("mask_tokens: the batch's input must be int64 ids [B, T]");
    const auto mask_it = batch.fields.find("attention_mask");
    Tensor attention;
    if (mask_it != batch.fields.end()) {
        if (mask_it->second.shape() != batch.input.shape())
            throw ValueError("mask_tokens: attention_mask's shape differs from the ids'");
        attention = mask_it->second.to(DType::Int64).contiguous();
    }
    Example out = batch;
    out.input = batch.input.contiguous().clone();
    out.target = full(batch.input.shape(), -100.0, DType::Int64);
    auto* ids = out.input.data_ptr<std::int64_t>();
    auto* labels = out.target.data_ptr<std::int64_t>();
    const std::int64_t* keep = attention.defined() ? attention.data_ptr<std::int64_t>() : nullptr;
    const std::int64_t n = batch.input.numel();
    for (std::int64_t i = 0; i < n; ++i) {
        if (keep != nullptr && keep[i] == 0) continue;
        if (std::find(o.special_ids.begin(), o.special_ids.end(), ids[i]) != o.special_ids.end()) continue;
        if (gen.uniform() >= o.probability) continue;
        labels[i] = ids[i];
        const double r = gen.uniform();
        if (r < o.mask_fraction)
            ids[i] = o.mask_id;
        else if (r < o.mask_fraction + o.random_fraction)
            ids[i] = gen.randint(0, o.vocab_size);
    }
    return out;
}

}  // namespace graft::data
