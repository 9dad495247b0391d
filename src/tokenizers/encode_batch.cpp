// encode_batch: every text encoded on all threads, truncated and padded into int64 tensors.
#include <algorithm>
#include <atomic>

#include "kernels/cpu/parallel.hpp"
#include "tokenizers/tokenizer_impl.hpp"

namespace graft::tokenizers {

namespace {

// Texts a thread takes at a time. The threads take them as they finish, not in fixed shares:
// texts differ in length by a thousand times, and a thread that shares a busy core with other
// work falls behind.
constexpr std::size_t kTextsPerTake = 8;

// The rows padded to `length` into int64 [rows, length] tensors.
void pad_into(BatchEncoding& batch, std::size_t length, std::int64_t pad) {
    const std::size_t rows = batch.encodings.size();
    const Shape shape{static_cast<std::int64_t>(rows), static_cast<std::int64_t>(length)};
    batch.input_ids = empty(shape, DType::Int64);
    batch.attention_mask = empty(shape, DType::Int64);
    batch.token_type_ids = empty(shape, DType::Int64);
    std::int64_t* ids = batch.input_ids.data_ptr<std::int64_t>();
    std::int64_t* mask = batch.attention_mask.data_ptr<std::int64_t>();
    std::int64_t* types = batch.token_type_ids.data_ptr<std::int64_t>();
    const auto n = static_cast<std::int64_t>(rows);
    kernels::parallel_for(0, n, n * static_cast<std::int64_t>(length) * 3, [&](std::int64_t lo, std::int64_t hi) {
        for (auto r = static_cast<std::size_t>(lo); r < static_cast<std::size_t>(hi); ++r) {
            const Encoding& e = batch.encodings[r];
            const std::size_t used = e.ids.size(), at = r * length;
            std::copy(e.ids.begin(), e.ids.end(), ids + at);
            std::fill(ids + at + used, ids + at + length, pad);
            std::fill(mask + at, mask + at + used, 1);
            std::fill(mask + at + used, mask + at + length, 0);
            std::copy(e.type_ids.begin(), e.type_ids.end(), types + at);
            std::fill(types + at + used, types + at + length, 0);
        }
    });
}

}  // namespace

BatchEncoding Tokenizer::encode_batch(const std::vector<std::string>& texts, const BatchOptions& options) const {
    if ((options.truncation || options.padding == Padding::MaxLength) && !options.max_length)
        throw TokenizerError(std::string("encode_batch: ") +
                             (options.truncation ? "truncation" : "padding = MaxLength") + " needs max_length");
    if (options.max_length && *options.max_length == 0) throw TokenizerError("encode_batch: max_length must be positive");
    BatchEncoding batch;
    const std::size_t rows = texts.size();
    batch.encodings.resize(rows);
    std::int64_t bytes = 0;
    for (const auto& t : texts) bytes += static_cast<std::int64_t>(t.size());
    const std::optional<std::size_t> cut = options.truncation ? options.max_length : std::nullopt;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    const int threads = kernels::threads_for(static_cast<std::int64_t>(rows), bytes);
    kernels::parallel_region(threads, [&](int, int) {
        while (!failed.load(std::memory_order_relaxed)) {
            const std::size_t lo = next.fetch_add(kTextsPerTake, std::memory_order_relaxed);
            if (lo >= rows) break;
            for (std::size_t i = lo; i < std::min(rows, lo + kTextsPerTake); ++i) {
                try {
                    batch.encodings[i] = impl_->encode(texts[i], nullptr, options.add_special_tokens, cut);
                } catch (Error& e) {
                    failed.store(true, std::memory_order_relaxed);
                    e.add_context("encode_batch: texts[" + std::to_string(i) + "]");
                    throw;
                }
            }
        }
    });
    if (options.padding == Padding::None) return batch;
    std::size_t length = 0;
    for (const auto& e : batch.encodings) length = std::max(length, e.ids.size());
    if (options.padding == Padding::MaxLength) {
        length = *options.max_length;
        for (std::size_t i = 0; i < rows; ++i)
            if (batch.encodings[i].ids.size() > length)
                throw TokenizerError("encode_batch: texts[" + std::to_string(i) + "] has " +
                                     std::to_string(batch.encodings[i].ids.size()) + " tokens, more than max_length " +
                                     std::to_string(length) + " (set truncation to cut it)");
    }
    pad_into(batch, length, options.pad_id.value_or(pad_id()));
    return batch;
}

}  // namespace graft::tokenizers
