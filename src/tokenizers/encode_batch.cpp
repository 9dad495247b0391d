// encode_batch: every text encoded on all threads, truncated and padded into int64 tensors.
#include <algorithm>

#include "kernels/cpu/parallel.hpp"
#include "tokenizers/tokenizer_impl.hpp"

namespace graft::tokenizers {

BatchEncoding Tokenizer::encode_batch(const std::vector<std::string>& texts, const BatchOptions& options) const {
    if ((options.truncation || options.padding == Padding::MaxLength) && !options.max_length)
        throw TokenizerError(std::string("encode_batch: ") +
                             (options.truncation ? "truncation" : "padding = MaxLength") + " needs max_length");
    if (options.max_length && *options.max_length == 0) throw TokenizerError("encode_batch: max_length must be positive");
    BatchEncoding batch;
    batch.encodings.resize(texts.size());
    std::int64_t bytes = 0;
    for (const auto& t : texts) bytes += static_cast<std::int64_t>(t.size());
    const std::optional<std::size_t> cut = options.truncation ? options.max_length : std::nullopt;
    kernels::parallel_for(0, static_cast<std::int64_t>(texts.size()), bytes, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) {
            try {
                batch.encodings[static_cast<std::size_t>(i)] =
                    impl_->encode(texts[static_cast<std::size_t>(i)], nullptr, options.add_special_tokens, cut);
            } catch (Error& e) {
                e.add_context("encode_batch: texts[" + std::to_string(i) + "]");
                throw;
            }
        }
    });
    std::size_t longest = 0;
    for (const auto& e : batch.encodings) longest = std::max(longest, e.ids.size());
    std::size_t length = longest;
    if (options.padding == Padding::MaxLength) {
        length = *options.max_length;
        for (std::size_t i = 0; i < batch.encodings.size(); ++i)
            if (batch.encodings[i].ids.size() > length)
                throw TokenizerError("encode_batch: texts[" + std::to_string(i) + "] has " +
                                     std::to_string(batch.encodings[i].ids.size()) + " tokens, more than max_length " +
                                     std::to_string(length) + " (set truncation to cut it)");
    }
    const std::int64_t pad = options.pad_id.value_or(pad_id());
    const std::size_t rows = texts.size();
    std::vector<std::int64_t> ids(rows * length, pad), mask(rows * length, 0), types(rows * length, 0);
    for (std::size_t r = 0; r < rows; ++r) {
        const Encoding& e = batch.encodings[r];
        std::copy(e.ids.begin(), e.ids.end(), ids.begin() + static_cast<std::ptrdiff_t>(r * length));
        std::fill_n(mask.begin() + static_cast<std::ptrdiff_t>(r * length), e.ids.size(), 1);
        std::copy(e.type_ids.begin(), e.type_ids.end(), types.begin() + static_cast<std::ptrdiff_t>(r * length));
    }
    const Shape shape{static_cast<std::int64_t>(rows), static_cast<std::int64_t>(length)};
    batch.input_ids = from_vector(ids, shape);
    batch.attention_mask = from_vector(mask, shape);
    batch.token_type_ids = from_vector(types, shape);
    return batch;
}

}  // namespace graft::tokenizers
