// The 2×2 stride-2 max-pool kernels (kernels/pool): every float32 variant this CPU runs against
// the scalar reference, values and indices bit for bit, at row lengths around the four-window
// tile (multiples and ±1), with ties, NaNs and infinities, odd row widths and a guard after each
// output that must stay untouched; the rows of 2^32 columns that the SIMD loops leave to the
// reference; then the drivers, whose results must not depend on the ISA or the thread count.
#include <sys/mman.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu_features.hpp"
#include "kernels/pool/pool.hpp"
#include "test_util.hpp"

using namespace graft;
using kernels::int64;
using kernels::Isa;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float SENTINEL = 777.25f;
constexpr int64 PAD = 8;  // outputs past OW that must stay untouched

/// Output row lengths around the four-window tile of the SIMD loops.
const std::vector<int64> ROW_LENGTHS = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 64, 65};

/// The float32 variants this CPU runs, the reference included (every one must match it).
std::vector<const kernels::F32MaxPoolVariant*> variants() {
    std::vector<const kernels::F32MaxPoolVariant*> out;
    for (Isa isa : kernels::supported_isas()) {
        const kernels::F32MaxPoolVariant& v = kernels::f32_max_pool_variant(isa);
        if (out.empty() || out.back() != &v) out.push_back(&v);
    }
    return out;
}

/// Two input rows of width W (r1 = r0 + W): small integers, so that windows hold ties, with
/// NaNs and infinities sprinkled in.
std::vector<float> row_pair(int64 W, std::uint64_t seed) {
    Generator g(seed);
    std::vector<float> rows(static_cast<std::size_t>(2 * W));
    for (float& v : rows) {
        const std::int64_t r = g.randint(0, 20);
        v = r == 0 ? kNaN : r == 1 ? kInf : r == 2 ? -kInf : static_cast<float>(r % 4);
    }
    return rows;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST(PoolKernels, MaxPool2x2RowMatchesTheReference) {
    for (const auto* v : variants())
        for (int64 OW : ROW_LENGTHS)
            for (int64 W : {2 * OW, 2 * OW + 1}) {
                const std::vector<float> rows = row_pair(W, static_cast<std::uint64_t>(OW * 131 + W));
                const int64 base = 6 * W;  // the row pair's offset in its plane (its third pair)
                std::vector<float> y_ref(static_cast<std::size_t>(OW + PAD), SENTINEL), y = y_ref;
                std::vector<int64> i_ref(static_cast<std::size_t>(OW + PAD), -7), idx = i_ref;
                kernels::max_pool_2x2_row_scalar<float>(OW, rows.data(), W, base, y_ref.data(), i_ref.data());
                v->forward_row(OW, rows.data(), W, base, y.data(), idx.data());
                for (int64 ow = 0; ow < OW + PAD; ++ow) {
                    const auto k = static_cast<std::size_t>(ow);
                    EXPECT_TRUE(same_bits(y[k], y_ref[k]))
                        << v->name << " OW " << OW << " W " << W << " ow " << ow << ": " << y[k] << " vs " << y_ref[k];
                    EXPECT_EQ(idx[k], i_ref[k]) << v->name << " OW " << OW << " W " << W << " ow " << ow;
                }
            }
}

TEST(PoolKernels, MaxPool2x2ReferenceFollowsPyTorchsScanRule) {
    // Windows (top pair | bottom pair): first maximum wins; the last NaN wins.
    const std::vector<float> rows = {1, 1, kNaN, 2,    0, 5, 3, 3,   // r0
                                     1, 0, 1,    kNaN, 5, 5, 3, 4};  // r1
    std::vector<float> y(4);
    std::vector<int64> idx(4);
    kernels::max_pool_2x2_row_scalar<float>(4, rows.data(), 8, 100, y.data(), idx.data());
    EXPECT_EQ(y[0], 1.f);
    EXPECT_EQ(idx[0], 100);  // a tie: the first in scan order
    EXPECT_TRUE(std::isnan(y[1]));
    EXPECT_EQ(idx[1], 100 + 8 + 3);  // two NaNs: the last in scan order
    EXPECT_EQ(y[2], 5.f);
    EXPECT_EQ(idx[2], 100 + 5);  // top right before the bottom row's equal values
    EXPECT_EQ(y[3], 4.f);
    EXPECT_EQ(idx[3], 100 + 8 + 7);
}

TEST(PoolKernels, MaxPool2x2GradRowMatchesTheReference) {
    for (const auto* v : variants())
        for (int64 OW : ROW_LENGTHS)
            for (int64 W : {2 * OW, 2 * OW + 1}) {
                const std::vector<float> rows = row_pair(W, static_cast<std::uint64_t>(OW * 7 + W));
                const int64 base = 2 * W;
                std::vector<float> y(static_cast<std::size_t>(OW)), dy(static_cast<std::size_t>(OW));
                std::vector<int64> idx(static_cast<std::size_t>(OW));
                kernels::max_pool_2x2_row_scalar<float>(OW, rows.data(), W, base, y.data(), idx.data());
                for (int64 ow = 0; ow < OW; ++ow) dy[static_cast<std::size_t>(ow)] = 0.5f + static_cast<float>(ow);
                std::vector<float> dx_ref(static_cast<std::size_t>(2 * W + PAD), SENTINEL), dx = dx_ref;
                kernels::max_pool_2x2_grad_row_scalar<float>(OW, dy.data(), idx.data(), W, base, dx_ref.data());
                v->backward_row(OW, dy.data(), idx.data(), W, base, dx.data());
                for (std::size_t k = 0; k < dx.size(); ++k)
                    EXPECT_TRUE(same_bits(dx[k], dx_ref[k]))
                        << v->name << " OW " << OW << " W " << W << " at " << k << ": " << dx[k] << " vs " << dx_ref[k];
                // The reference itself: dy at the saved position of each window, 0 at its other three.
                for (int64 ow = 0; ow < OW; ++ow) {
                    float sum = 0;
                    for (int64 at : {2 * ow, 2 * ow + 1, W + 2 * ow, W + 2 * ow + 1})
                        sum += dx_ref[static_cast<std::size_t>(at)];
                    EXPECT_EQ(sum, dy[static_cast<std::size_t>(ow)]);
                    EXPECT_EQ(dx_ref[static_cast<std::size_t>(idx[static_cast<std::size_t>(ow)] - base)],
                              dy[static_cast<std::size_t>(ow)]);
                }
            }
}

TEST(PoolKernels, MaxPool2x2RowsOf2To32ColumnsTakeTheReference) {
    // Window offsets up to W + 1 do not fit the SIMD loops' 32-bit lanes (W = 2^32 would wrap to
    // the top row's offset 0): such rows must still give the reference's indices and gradients.
    // Only the two rows' pages of the reservation are touched.
    const int64 W = int64{1} << 32, OW = 9;
    const std::size_t bytes = static_cast<std::size_t>(W + 2 * OW) * sizeof(float);
    void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) GTEST_SKIP() << "cannot reserve 16 GiB of address space";
    auto* r0 = static_cast<float*>(map);
    const std::vector<float> values = row_pair(2 * OW, 5);
    for (int64 j = 0; j < 2 * OW; ++j) {
        r0[j] = values[static_cast<std::size_t>(j)];
        r0[W + j] = values[static_cast<std::size_t>(2 * OW + j)];
    }
    for (const auto* v : variants()) {
        std::vector<float> y_ref(OW), y(OW), dy(OW, 1.5f);
        std::vector<int64> i_ref(OW), idx(OW);
        kernels::max_pool_2x2_row_scalar<float>(OW, r0, W, 0, y_ref.data(), i_ref.data());
        v->forward_row(OW, r0, W, 0, y.data(), idx.data());
        for (int64 ow = 0; ow < OW; ++ow) {
            EXPECT_TRUE(same_bits(y[static_cast<std::size_t>(ow)], y_ref[static_cast<std::size_t>(ow)])) << v->name;
            EXPECT_EQ(idx[static_cast<std::size_t>(ow)], i_ref[static_cast<std::size_t>(ow)])
                << v->name << " ow " << ow;
        }
        v->backward_row(OW, dy.data(), i_ref.data(), W, 0, r0);
        for (int64 ow = 0; ow < OW; ++ow)  // 1.5 at the window's maximum, 0 at its other three
            for (int64 at : {2 * ow, 2 * ow + 1, W + 2 * ow, W + 2 * ow + 1})
                EXPECT_EQ(r0[at], at == i_ref[static_cast<std::size_t>(ow)] ? 1.5f : 0.f) << v->name << " at " << at;
        for (int64 j = 0; j < 2 * OW; ++j) {  // restore the inputs the backward overwrote
            r0[j] = values[static_cast<std::size_t>(j)];
            r0[W + j] = values[static_cast<std::size_t>(2 * OW + j)];
        }
    }
    munmap(map, bytes);
}

TEST(PoolKernels, MaxPool2x2DriversAgreeAcrossIsasAndThreadCounts) {
    const Isa saved_isa = kernels::active_isa();
    const int saved_threads = get_num_threads();
    const int64 planes = 24, H = 33, W = 67, OH = 16, OW = 33;
    Generator g(11);
    const Tensor x = randn({planes, H, W}, DType::Float32, &g);
    const Tensor dy = randn({planes, OH, OW}, DType::Float32, &g);
    std::vector<float> y_ref, dx_ref;
    std::vector<int64> i_ref;
    for (Isa isa : kernels::supported_isas())
        for (int threads : {1, 2}) {
            kernels::set_active_isa(isa);
            set_num_threads(threads);
            std::vector<float> y(static_cast<std::size_t>(planes * OH * OW)),
                dx(static_cast<std::size_t>(planes * H * W), SENTINEL);
            std::vector<int64> idx(y.size());
            kernels::max_pool_2x2<float>(planes, H, W, OH, OW, x.data_ptr<float>(), y.data(), idx.data());
            kernels::max_pool_2x2_backward<float>(planes, H, W, OH, OW, dy.data_ptr<float>(), idx.data(), dx.data());
            if (y_ref.empty()) {
                y_ref = y, i_ref = idx, dx_ref = dx;
                continue;
            }
            EXPECT_EQ(y, y_ref) << kernels::isa_name(isa) << ", " << threads << " threads";
            EXPECT_EQ(idx, i_ref) << kernels::isa_name(isa) << ", " << threads << " threads";
            EXPECT_EQ(dx, dx_ref) << kernels::isa_name(isa) << ", " << threads << " threads";
        }
    // Every element of dx written: no sentinel left (the odd last row and column are 0).
    for (float v : dx_ref) EXPECT_NE(v, SENTINEL);
    kernels::set_active_isa(saved_isa);
    set_num_threads(saved_threads);
}

namespace {

/// Equal values, a NaN matching any NaN (without positions the pool keeps no particular one).
void expect_same_values(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i]))
            EXPECT_TRUE(std::isnan(got[i])) << what << " at " << i;
        else
            EXPECT_EQ(got[i], want[i]) << what << " at " << i;
    }
}

/// n values in [−4, 4) with NaN, ±inf and ties scattered in.
std::vector<float> pool_inputs(int64 n, std::uint64_t seed) {
    Generator g(seed);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = static_cast<float>(-4 + 8 * g.uniform());
    const float specials[] = {kNaN, kInf, -kInf, 1.5f, 1.5f, 0.f, -0.f};
    for (std::size_t i = seed % 5; i < v.size(); i += 17) v[i] = specials[(i / 17) % std::size(specials)];
    return v;
}

}  // namespace

TEST(PoolKernels, MaxRowsAndColumnsMatchTheReference) {
    // The variants with values-only kernels (the others leave max_pool2d to its per-window loop).
    std::vector<const kernels::F32MaxPoolVariant*> with_values;
    for (const kernels::F32MaxPoolVariant* v : variants())
        if (v->max_rows != nullptr) with_values.push_back(v);
    for (const kernels::F32MaxPoolVariant* v : with_values)
        for (int64 W : ROW_LENGTHS)
            for (int64 count : {1, 2, 3}) {
                const std::string what = std::string(v->name) + " W=" + std::to_string(W) + " rows=" + std::to_string(count);
                const int64 stride = W + 3;
                const std::vector<float> x = pool_inputs(count * stride, 3 + W + count);
                std::vector<float> want(static_cast<std::size_t>(W + PAD), SENTINEL), got = want;
                kernels::max_rows_scalar(count, W, x.data(), stride, want.data());
                v->max_rows(count, W, x.data(), stride, got.data());
                expect_same_values(got, want, what + " max_rows");
            }
    for (const kernels::F32MaxPoolVariant* v : with_values)
        for (int64 OW : ROW_LENGTHS)
            for (int64 sw : {1, 2, 3})
                for (int64 kw : {1, 2, 3, 5}) {
                    const std::string what = std::string(v->name) + " OW=" + std::to_string(OW) + " sw=" +
                                             std::to_string(sw) + " kw=" + std::to_string(kw);
                    std::vector<float> m = pool_inputs((OW - 1) * sw + kw, 7 + OW * sw + kw);
                    m.resize(m.size() + kernels::kMaxPoolScratchSlack, kNaN);  // slack: never a window's value
                    std::vector<float> want(static_cast<std::size_t>(OW + PAD), SENTINEL), got = want;
                    kernels::max_columns_scalar(OW, kw, sw, m.data(), want.data());
                    v->max_columns(OW, kw, sw, m.data(), got.data());
                    expect_same_values(got, want, what + " max_columns");
                }
}

TEST(PoolKernels, MaxPoolValuesAreThoseOfThePoolWithIndices) {
    // Windows that overhang the padding and, with ceil_mode, the input's end; one whose rows are all padding.
    const Isa saved_isa = kernels::active_isa();
    const int saved_threads = get_num_threads();
    struct Case {
        Shape x;
        int64 k, s, p;
        bool ceil;
    };
    const Case cases[] = {{{2, 3, 17, 23}, 3, 2, 1, false}, {{2, 3, 16, 16}, 3, 2, 1, true}, {{1, 4, 9, 40}, 2, 1, 1, false},
                          {{1, 2, 11, 7}, 4, 3, 2, true},    {{3, 2, 5, 5}, 5, 1, 2, false},  {{1, 1, 3, 50}, 1, 2, 0, true}};
    for (const Case& c : cases)
        for (DType dt : {DType::Float32, DType::Float64}) {
            Generator g(5);
            Tensor x = randn(c.x, dt, &g);
            {
                // NaN and ties in the float input.
                const std::vector<float> specials = pool_inputs(x.numel(), 9);
                Tensor s = from_vector(specials).reshape(c.x).to(dt);
                x = s;
            }
            auto [want, idx] = nn::functional::max_pool2d_with_indices(x, c.k, c.s, c.p, 1, c.ceil);
            for (Isa isa : kernels::supported_isas())
                for (int threads : {1, 2}) {
                    kernels::set_active_isa(isa);
                    set_num_threads(threads);
                    const NoGradGuard no_grad;
                    const Tensor got = nn::functional::max_pool2d(x, c.k, c.s, c.p, 1, c.ceil);
                    const std::string what = shape_str(c.x) + " k" + std::to_string(c.k) + " s" + std::to_string(c.s) +
                                             " p" + std::to_string(c.p) + (c.ceil ? " ceil " : " ") + dtype_name(dt) + " " +
                                             kernels::isa_name(isa) + " " + std::to_string(threads) + " threads";
                    ASSERT_EQ(got.shape(), want.shape()) << what;
                    expect_same_values(got.to(DType::Float32).to_vector<float>(), want.to(DType::Float32).to_vector<float>(),
                                       what);
                }
        }
    kernels::set_active_isa(saved_isa);
    set_num_threads(saved_threads);
}
