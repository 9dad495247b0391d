// mask_tokens: the share of chosen tokens, the 80/10/10 split, special tokens and padding never
// chosen, labels -100 elsewhere, determinism for a generator state.
#include <gtest/gtest.h>

#include <algorithm>

#include "graft/data/mlm_masking.hpp"
#include "test_util.hpp"

namespace graft {
namespace {

constexpr std::int64_t kMask = 4, kPad = 0, kCls = 2, kSep = 3, kVocab = 1000;

bool equal(const Tensor& a, const Tensor& b) {
    const Tensor x = a.contiguous(), y = b.contiguous();
    return x.shape() == y.shape() &&
           std::equal(x.data_ptr<std::int64_t>(), x.data_ptr<std::int64_t>() + x.numel(), y.data_ptr<std::int64_t>());
}

/// [B, T] ids: [CLS] w w … w [SEP] [PAD] …, row b holding T − b − 2 words (ids ≥ 5).
data::Example batch(std::int64_t rows, std::int64_t width) {
    std::vector<std::int64_t> ids, mask;
    for (std::int64_t b = 0; b < rows; ++b)
        for (std::int64_t t = 0; t < width; ++t) {
            const std::int64_t len = width - b % 5;
            const bool token = t < len;
            ids.push_back(!token ? kPad : t == 0 ? kCls : t == len - 1 ? kSep : 5 + (b * 31 + t * 7) % 900);
            mask.push_back(token ? 1 : 0);
        }
    data::Example ex;
    ex.input = from_vector(ids, {rows, width});
    ex.fields.emplace("attention_mask", from_vector(mask, {rows, width}));
    return ex;
}

TEST(MlmMasking, ShareSplitAndNeverSpecialOrPadding) {
    const data::Example in = batch(200, 50);
    Generator gen(7);
    const data::MlmMaskingOptions options{.mask_id = kMask, .vocab_size = kVocab, .special_ids = {kCls, kSep, kPad}};
    const data::Example out = data::mask_tokens(in, options, gen);
    ASSERT_EQ(out.target.shape(), in.input.shape());
    const auto* before = in.input.data_ptr<std::int64_t>();
    const auto* after = out.input.data_ptr<std::int64_t>();
    const auto* labels = out.target.data_ptr<std::int64_t>();
    std::int64_t eligible = 0, chosen = 0, masked = 0, kept = 0, changed = 0;
    for (std::int64_t i = 0; i < in.input.numel(); ++i) {
        const bool special = before[i] == kCls || before[i] == kSep || before[i] == kPad;
        if (special) {
            EXPECT_EQ(labels[i], -100);
            EXPECT_EQ(after[i], before[i]);
            continue;
        }
        ++eligible;
        if (labels[i] == -100) {
            EXPECT_EQ(after[i], before[i]);
            continue;
        }
        ++chosen;
        EXPECT_EQ(labels[i], before[i]);
        if (after[i] == kMask) ++masked;
        else if (after[i] == before[i]) ++kept;
        else ++changed;
    }
    // 15 % of ~9,000 eligible tokens (binomial sd ≈ 34): within 5 sd.
    EXPECT_NEAR(static_cast<double>(chosen) / static_cast<double>(eligible), 0.15, 0.02);
    EXPECT_NEAR(static_cast<double>(masked) / static_cast<double>(chosen), 0.8, 0.04);
    EXPECT_NEAR(static_cast<double>(changed + kept) / static_cast<double>(chosen), 0.2, 0.04);
    EXPECT_GT(changed, 0);
    EXPECT_GT(kept, 0);
    EXPECT_TRUE(out.fields.count("attention_mask"));
}

TEST(MlmMasking, DeterministicForAGenerator) {
    const data::Example in = batch(8, 20);
    const data::MlmMaskingOptions options{.mask_id = kMask, .vocab_size = kVocab, .special_ids = {kCls, kSep, kPad}};
    Generator a(3), b(3), c(4);
    const data::Example x = data::mask_tokens(in, options, a), y = data::mask_tokens(in, options, b),
                        z = data::mask_tokens(in, options, c);
    EXPECT_TRUE(equal(x.input, y.input));
    EXPECT_TRUE(equal(x.target, y.target));
    EXPECT_FALSE(equal(x.target, z.target));
    // The input batch is not written to.
    EXPECT_TRUE(equal(in.input, batch(8, 20).input));
}

TEST(MlmMasking, OptionErrors) {
    const data::Example in = batch(2, 6);
    Generator gen(1);
    EXPECT_THROW_MSG(data::mask_tokens(in, {.mask_id = kVocab, .vocab_size = kVocab}, gen), ValueError,
                     "mask_id 1000 must lie in [0, vocab_size 1000)");
    EXPECT_THROW_MSG(data::mask_tokens(in, {.mask_id = kMask, .vocab_size = kVocab, .mask_fraction = 0.95}, gen),
                     ValueError, "fractions summing to at most 1");
    data::Example floats;
    floats.input = zeros({2, 3});
    EXPECT_THROW_MSG(data::mask_tokens(floats, {.mask_id = kMask, .vocab_size = kVocab}, gen), ValueError,
                     "int64 ids [B, T]");
}

}  // namespace
}  // namespace graft
