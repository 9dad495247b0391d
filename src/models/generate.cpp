// models::generate: greedy and temperature/top-k sampling from a GPT2LMHead, with a KV cache.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "graft/autograd.hpp"
#include "graft/models/gpt2.hpp"
#include "graft/ops.hpp"
#include "graft/random.hpp"

namespace graft::models {

namespace {

void check_generate_args(const GPT2LMHead& model, const Tensor& prompt, const GenerateOptions& o) {
    if (prompt.dtype() != DType::Int64)
        throw DTypeError("generate: prompt ids must be int64, got " + std::string(dtype_name(prompt.dtype())));
    if (prompt.dim() != 2 || prompt.size(1) == 0)
        throw ShapeError("generate: prompt ids must be [batch, positions] with at least one position, got shape " +
                         shape_str(prompt.shape()));
    if (o.max_new_tokens < 0)
        throw ValueError("generate: max_new_tokens must be ≥ 0, got " + std::to_string(o.max_new_tokens));
    if (!(o.temperature >= 0))
        throw ValueError("generate: temperature must be ≥ 0 (0: greedy), got " + std::to_string(o.temperature));
    if (o.top_k < 0) throw ValueError("generate: top_k must be ≥ 0 (0: every token), got " + std::to_string(o.top_k));
    const std::int64_t total = prompt.size(1) + o.max_new_tokens;
    if (total > model.config.n_positions)
        throw ValueError("generate: prompt of " + std::to_string(prompt.size(1)) + " positions + max_new_tokens " +
                         std::to_string(o.max_new_tokens) + " = " + std::to_string(total) +
                         " exceed the model's n_positions = " + std::to_string(model.config.n_positions));
}

/// The next token for one row of logits: the first maximum when greedy, else a draw from
/// softmax(logits / temperature) restricted to the top_k largest logits (ties included).
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

Tensor generate(GPT2LMHead& model, const Tensor& prompt_ids, const GenerateOptions& options) {
    check_generate_args(model, prompt_ids, options);
    NoGradGuard no_grad;
    Generator gen(options.seed);
    const std::int64_t batch = prompt_ids.size(0), vocab = model.config.vocab_size;
    Tensor ids = prompt_ids.contiguous();
    KVCache cache;
    Tensor step_input = ids;  // what the next forward reads: everything, or only the new token with the cache
    for (std::int64_t n = 0; n < options.max_new_tokens; ++n) {
        const Tensor logits = options.use_cache ? model.forward(step_input, &cache) : model.forward(ids);
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

}  // namespace graft::models
