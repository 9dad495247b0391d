// models::generate_tokens: greedy and temperature/top-k/top-p sampling from any causal language
// model given as a forward function, with a KV cache.
#include "graft/models/causal_lm.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/random.hpp"

namespace graft::models {

std::int64_t KVCache::length() const {
    return layers.empty() || !layers.front().key.defined() ? 0 : layers.front().key.size(2);
}

namespace {

void check_generate_args(const std::string& op, const Tensor& prompt, const GenerateOptions& o,
                         const std::optional<PositionLimit>& limit) {
    if (prompt.dtype() != DType::Int64)
        throw DTypeError(op + ": prompt ids must be int64, got " + std::string(dtype_name(prompt.dtype())));
    if (prompt.dim() != 2 || prompt.size(1) == 0)
        throw ShapeError(op + ": prompt ids must be [batch, positions] with at least one position, got shape " +
                         shape_str(prompt.shape()));
    if (o.max_new_tokens < 0)
        throw ValueError(op + ": max_new_tokens must be ≥ 0, got " + std::to_string(o.max_new_tokens));
    if (!(o.temperature >= 0))
        throw ValueError(op + ": temperature must be ≥ 0 (0: greedy), got " + std::to_string(o.temperature));
    if (o.top_k < 0) throw ValueError(op + ": top_k must be ≥ 0 (0: every token), got " + std::to_string(o.top_k));
    if (!(o.top_p > 0 && o.top_p <= 1))
        throw ValueError(op + ": top_p must be in (0, 1] (1: every token), got " + std::to_string(o.top_p));
    const std::int64_t total = prompt.size(1) + o.max_new_tokens;
    if (limit && total > limit->max_positions)
        throw ValueError(op + ": prompt of " + std::to_string(prompt.size(1)) + " positions + max_new_tokens " +
                         std::to_string(o.max_new_tokens) + " = " + std::to_string(total) + " exceed the model's " +
                         limit->key + " = " + std::to_string(limit->max_positions));
}

/// Zeroes the weights outside the nucleus: the largest weights whose sum first reaches top_p of
/// the total (the largest one always kept).
void keep_nucleus(std::vector<double>& weights, double total, double top_p) {
    std::vector<std::size_t> order(weights.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return weights[a] > weights[b]; });
    double sum = 0;
    std::size_t kept = 0;
    while (kept < order.size() && weights[order[kept]] > 0 && (kept == 0 || sum < top_p * total))
        sum += weights[order[kept++]];
    for (std::size_t i = kept; i < order.size(); ++i) weights[order[i]] = 0;
}

/// The next token for one row of logits: the first maximum when greedy, else a draw from
/// softmax(logits / temperature) restricted to the top_k largest logits (ties included), then to
/// the top_p nucleus.
std::int64_t pick_token(std::vector<double> logits, const GenerateOptions& o, Generator& gen) {
    if (o.temperature == 0)
        return std::max_element(logits.begin(), logits.end()) - logits.begin();
    const auto vocab = static_cast<std::int64_t>(logits.size());
    double threshold = -std::numeric_limits<double>::infinity();
    if (o.top_k > 0 && o.top_k < vocab) {
        std::vector<double> sorted = logits;
        std::nth_element(sorted.begin(), sorted.begin() + (o.top_k - 1), sorted.end(), std::greater<>());
        threshold = sorted[static_cast<std::size_t>(o.top_k - 1)];
    }
    const double top = *std::max_element(logits.begin(), logits.end());
    double total = 0;
    for (double& l : logits) {
        l = l >= threshold ? std::exp((l - top) / o.temperature) : 0.0;
        total += l;
    }
    if (o.top_p < 1) {
        keep_nucleus(logits, total, o.top_p);
        total = std::accumulate(logits.begin(), logits.end(), 0.0);
    }
    double u = gen.uniform() * total;
    std::int64_t last_kept = 0;
    for (std::int64_t i = 0; i < vocab; ++i) {
        if (logits[static_cast<std::size_t>(i)] == 0) continue;
        last_kept = i;
        u -= logits[static_cast<std::size_t>(i)];
        if (u < 0) return i;
    }
    return last_kept;  // u landed on the rounding error of the sum
}

}  // namespace

Tensor generate_tokens(const std::string& op, const CausalLMForward& forward, const Tensor& prompt_ids,
                       const GenerateOptions& options, const std::optional<PositionLimit>& limit) {
    check_generate_args(op, prompt_ids, options, limit);
    NoGradGuard no_grad;
    Generator gen(options.seed);
    const std::int64_t batch = prompt_ids.size(0);
    Tensor ids = prompt_ids.contiguous();
    KVCache cache;
    Tensor step_input = ids;  // what the next forward reads: everything, or only the new token with the cache
    for (std::int64_t n = 0; n < options.max_new_tokens; ++n) {
        const Tensor logits = options.use_cache ? forward(step_input, &cache) : forward(ids, nullptr);
        const std::int64_t vocab = logits.size(2);
        const std::vector<double> last = logits.select(1, logits.size(1) - 1).to_vector<double>();
        std::vector<std::int64_t> next(static_cast<std::size_t>(batch));
        for (std::int64_t b = 0; b < batch; ++b) {
            const auto row = last.begin() + b * vocab;
            next[static_cast<std::size_t>(b)] = pick_token(std::vector<double>(row, row + vocab), options, gen);
        }
        step_input = from_vector(next, {batch, 1});
        ids = cat({ids, step_input}, 1);
    }
    return ids;
}

Tensor generate_padded_tokens(const std::string& op, const PaddedCausalLMForward& forward, const Tensor& prompt_ids,
                              const Tensor& attention_mask, const GenerateOptions& options,
                              const std::optional<PositionLimit>& limit) {
    check_generate_args(op, prompt_ids, options, limit);
    const std::int64_t batch = prompt_ids.size(0), prompt_len = prompt_ids.size(1);
    if (attention_mask.dim() != 2 || attention_mask.size(0) != batch || attention_mask.size(1) != prompt_len)
        throw ShapeError(op + ": attention mask must be [batch, positions] = " + shape_str({batch, prompt_len}) +
                         " like the prompt ids, got " + shape_str(attention_mask.shape()));
    std::vector<std::int64_t> prompt_mask;
    {
        NoGradGuard no_grad;
        prompt_mask = ne(attention_mask, 0.0).to(DType::Int64).to_vector<std::int64_t>();
    }
    for (std::int64_t b = 0; b < batch; ++b)
        if (prompt_mask[static_cast<std::size_t>((b + 1) * prompt_len - 1)] == 0)
            throw ValueError(op + ": row " + std::to_string(b) +
                             " of the attention mask ends in padding; pad prompts on the left for generation");
    // HF's generate: the mask grows by a 1 per new token; position ids = cumsum(mask) − 1, and 1
    // at padding positions (any value would do there: those keys are masked out).
    const CausalLMForward step = [&](const Tensor& ids, KVCache* cache) {
        const std::int64_t past = cache != nullptr ? cache->length() : 0, steps = ids.size(1), total = past + steps;
        std::vector<std::int64_t> mask(static_cast<std::size_t>(batch * total), 1), positions(static_cast<std::size_t>(batch * steps));
        for (std::int64_t b = 0; b < batch; ++b) {
            std::int64_t count = 0;
            for (std::int64_t t = 0; t < total; ++t) {
                const std::size_t at = static_cast<std::size_t>(b * total + t);
                if (t < prompt_len) mask[at] = prompt_mask[static_cast<std::size_t>(b * prompt_len + t)];
                count += mask[at];
                if (t >= past) positions[static_cast<std::size_t>(b * steps + t - past)] = mask[at] != 0 ? count - 1 : 1;
            }
        }
        return forward(ids, cache, from_vector(mask, {batch, total}), from_vector(positions, {batch, steps}));
    };
    return generate_tokens(op, step, prompt_ids, options, limit);
}

}  // namespace graft::models
