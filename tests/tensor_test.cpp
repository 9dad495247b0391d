// Tensor basics: factories, metadata, element access, dtype conversions, printing, storage.
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>

#include "test_util.hpp"

using namespace graft;

namespace {

TEST(Tensor, ZerosOnesFullHaveShapeDtypeAndValues) {
    Tensor z = zeros({2, 3});
    EXPECT_EQ(z.shape(), (Shape{2, 3}));
    EXPECT_EQ(z.dtype(), DType::Float32);
    EXPECT_EQ(z.numel(), 6);
    EXPECT_EQ(z.strides(), (Shape{3, 1}));
    EXPECT_TRUE(z.is_contiguous());
    EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.0f));
    EXPECT_EQ(ones({4}, DType::Int64).to_vector<std::int64_t>(), std::vector<std::int64_t>(4, 1));
    EXPECT_EQ(full({2}, 2.5, DType::Float64).to_vector<double>(), (std::vector<double>{2.5, 2.5}));
    EXPECT_EQ(zeros_like(full({3}, 1.0, DType::Int32)).dtype(), DType::Int32);
}

TEST(Tensor, StorageIs64ByteAligned) {
    for (std::int64_t n : {1, 3, 17, 1000}) {
        Tensor t = empty({n});
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u) << n;
    }
}

TEST(Tensor, ArangeAndLinspace) {
    EXPECT_EQ(arange(5).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(arange(1, 2, 0.25, DType::Float64).to_vector<double>(), (std::vector<double>{1, 1.25, 1.5, 1.75}));
    EXPECT_EQ(arange(5, 0, -2).to_vector<std::int64_t>(), (std::vector<std::int64_t>{5, 3, 1}));
    EXPECT_EQ(linspace(0, 1, 5, DType::Float64).to_vector<double>(), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
    EXPECT_EQ(linspace(3, 3, 1).numel(), 1);
    EXPECT_THROW_MSG(arange(0, 5, 0), ValueError, "step");
    EXPECT_THROW_MSG(linspace(0, 1, -1), ValueError, "steps");
}

TEST(Tensor, RandomFactoriesAreSeedable) {
    manual_seed(7);
    Tensor a = randn({100});
    Tensor u = rand({100});
    Tensor k = randint(-3, 4, {100});
    manual_seed(7);
    EXPECT_EQ(a.to_vector<float>(), randn({100}).to_vector<float>());
    EXPECT_EQ(u.to_vector<float>(), rand({100}).to_vector<float>());
    EXPECT_EQ(k.to_vector<std::int64_t>(), randint(-3, 4, {100}).to_vector<std::int64_t>());
    for (float v : u.to_vector<float>()) {
        EXPECT_GE(v, 0.0f);
        EXPECT_LT(v, 1.0f);
    }
    for (std::int64_t v : k.to_vector<std::int64_t>()) {
        EXPECT_GE(v, -3);
        EXPECT_LT(v, 4);
    }
    Generator g1(3), g2(3);
    EXPECT_EQ(randn({10}, DType::Float64, &g1).to_vector<double>(), randn({10}, DType::Float64, &g2).to_vector<double>());
    EXPECT_THROW_MSG(randint(5, 5, {2}), ValueError, "empty range");
}

TEST(Tensor, RandnHasUnitMomentsAndGeneratorStateRestores) {
    Generator g(11);
    std::vector<double> v = randn({200000}, DType::Float64, &g).to_vector<double>();
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= static_cast<double>(v.size());
    for (double x : v) s += (x - m) * (x - m);
    s /= static_cast<double>(v.size());
    EXPECT_NEAR(m, 0.0, 0.01);
    EXPECT_NEAR(s, 1.0, 0.01);
    Generator::State st = g.state();
    const double next = g.normal();
    g.set_state(st);
    EXPECT_EQ(g.normal(), next);
}

TEST(Tensor, FromVectorAndFromBlob) {
    Tensor t = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(t.data_ptr<float>()[4], 5.0f);
    EXPECT_THROW_MSG(from_vector<float>({1, 2, 3}, {2, 2}), ShapeError, "[2, 2]");

    std::vector<double> buf{1, 2, 3, 4};
    bool freed = false;
    {
        Tensor b = from_blob(buf.data(), {2, 2}, DType::Float64, [&](void*) { freed = true; });
        EXPECT_EQ(b.raw_data(), buf.data());
        b.select(0, 1).fill_(9);  // writes through to the external buffer
        EXPECT_FALSE(freed);
    }
    EXPECT_TRUE(freed);
    EXPECT_EQ(buf, (std::vector<double>{1, 2, 9, 9}));
}

TEST(Tensor, InPlaceFloat32OpsWriteIntoTheirOwnMemory) {
    manual_seed(3);
    const Tensor a0 = randn({7, 33}), b = randn({7, 33}), row = randn({33}), s = from_vector<float>({2.5f});
    Tensor a = a0.clone();
    const float* p = a.data_ptr<float>();
    const std::uint64_t v0 = a.storage()->version();
    a.add_(b);
    EXPECT_TRUE(allclose(a, add(a0, b), 0, 0));
    a.sub_(row);
    EXPECT_TRUE(allclose(a, sub(add(a0, b), row), 0, 0));
    a.mul_(s);
    a.div_(s);
    EXPECT_TRUE(allclose(a, div(mul(sub(add(a0, b), row), s), s), 0, 0));
    EXPECT_EQ(a.data_ptr<float>(), p);
    EXPECT_EQ(a.storage()->version(), v0 + 4);
    Tensor c = a0.clone();
    c.add_(c);  // the operand is self: still exact
    EXPECT_TRUE(allclose(c, mul(a0, 2.0), 0, 0));
}

TEST(Tensor, InPlaceFloat32OpsOnViewsAndOverlapsTakeTheGeneralPath) {
    manual_seed(4);
    const Tensor base = randn({6, 6});
    Tensor t = base.clone();
    Tensor tt = t.t();  // not contiguous
    tt.add_(ones({6, 6}));
    EXPECT_TRUE(allclose(t, add(base, 1.0), 0, 0));
    // Partial overlap: x[1:] += x[:-1] must read the old values, as the out-of-place result does.
    Tensor x = from_vector<float>({1, 2, 3, 4, 5});
    const Tensor expected = add(x.slice(0, 1, 5), x.slice(0, 0, 4));
    Tensor tail = x.slice(0, 1, 5);
    tail.add_(x.slice(0, 0, 4));
    EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{1, 3, 5, 7, 9}));
    EXPECT_TRUE(allclose(tail, expected, 0, 0));
    // Broadcasting self is not in place: a [1, 4] target cannot take a [3, 4] operand.
    Tensor small = zeros({1, 4});
    EXPECT_THROW(small.add_(ones({3, 4})), ShapeError);
}

TEST(Tensor, ReadOnlyBlobRefusesInPlaceWrites) {
    std::vector<float> buf{1, 2};
    Tensor b = from_blob(buf.data(), {2}, DType::Float32, {}, /*writable=*/false);
    EXPECT_THROW_MSG(b.fill_(0), ValueError, "read-only");
    EXPECT_EQ(b.clone().add_(1.0).to_vector<float>(), (std::vector<float>{2, 3}));
}

TEST(Tensor, DataPtrChecksDtype) {
    Tensor t = zeros({2}, DType::Int32);
    EXPECT_NO_THROW(t.data_ptr<std::int32_t>());
    EXPECT_THROW_MSG(t.data_ptr<float>(), DTypeError, "int32");
}

TEST(Tensor, ItemNeedsOneElement) {
    EXPECT_EQ(full({1, 1}, 3.5).item(), 3.5);
    EXPECT_EQ(scalar_tensor(4, DType::Int64).item<std::int64_t>(), 4);
    EXPECT_THROW_MSG(zeros({2}).item(), ShapeError, "exactly one element");
}

TEST(Tensor, ConversionsBetweenDtypes) {
    Tensor f = from_vector<float>({-1.5f, 0.0f, 2.75f});
    EXPECT_EQ(f.to(DType::Float64).to_vector<double>(), (std::vector<double>{-1.5, 0.0, 2.75}));
    EXPECT_EQ(f.to(DType::Int64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{-1, 0, 2}));
    EXPECT_EQ(f.to(DType::Bool).to_vector<bool>(), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(from_vector<bool>({true, false}).to(DType::Float32).to_vector<float>(), (std::vector<float>{1, 0}));
    // bf16 and f16 hold these values exactly.
    EXPECT_EQ(f.to(DType::BFloat16).to(DType::Float32).to_vector<float>(), f.to_vector<float>());
    EXPECT_EQ(f.to(DType::Float16).to(DType::Float32).to_vector<float>(), f.to_vector<float>());
    EXPECT_TRUE(f.to(DType::Float32).shares_storage(f));  // same dtype: no copy
}

TEST(Tensor, FloatToIntegerOfNonFiniteOrOutOfRangeValuesIsAValueError) {
    constexpr float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const Tensor f = from_vector<float>({1.5f, nan});
    EXPECT_THROW_MSG(f.to(DType::Int64), ValueError, "to: float32 value nan cannot be converted to int64 (not a number)");
    EXPECT_THROW_MSG(from_vector<float>({-inf}).to(DType::Int32), ValueError,
                     "to: float32 value -inf cannot be converted to int32 (not finite)");
    EXPECT_THROW_MSG(from_vector<double>({3e9}).to(DType::Int32), ValueError,
                     "to: float64 value 3e+09 cannot be converted to int32 (outside [-2147483648, 2147483647])");
    EXPECT_THROW_MSG(from_vector<double>({0x1p63}).to(DType::Int64), ValueError, "outside [-9223372036854775808, ");
    EXPECT_THROW_MSG(from_vector<float>({inf}).to(DType::BFloat16).to(DType::Int64), ValueError,
                     "to: bfloat16 value inf cannot be converted to int64");
    EXPECT_THROW_MSG(f.to_vector<std::int32_t>(), ValueError, "to_vector: float32 value nan");
    // The ends of the ranges convert, truncated toward zero.
    EXPECT_EQ(from_vector<double>({-0x1p63, 0x1p63 - 1024}).to(DType::Int64).to_vector<std::int64_t>(),
              (std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 9223372036854774784}));
    EXPECT_EQ(from_vector<double>({-2147483648.9, 2147483647.9}).to(DType::Int32).to_vector<std::int32_t>(),
              (std::vector<std::int32_t>{-2147483647 - 1, 2147483647}));
    // copy_ checks every value before it writes: the destination keeps its values.
    Tensor dst = from_vector<std::int64_t>({7, 8});
    EXPECT_THROW_MSG(dst.copy_(f), ValueError, "copy_: float32 value nan cannot be converted to int64");
    EXPECT_EQ(dst.to_vector<std::int64_t>(), (std::vector<std::int64_t>{7, 8}));
    EXPECT_THROW_MSG(dst.fill_(nan), ValueError, "fill_: float64 value nan cannot be converted to int64");
    EXPECT_THROW_MSG(dst.fill_(1e19), ValueError, "fill_: float64 value 1e+19");
    EXPECT_EQ(dst.to_vector<std::int64_t>(), (std::vector<std::int64_t>{7, 8}));
    EXPECT_THROW_MSG(full({2}, nan, DType::Int32), ValueError, "full: float64 value nan cannot be converted to int32");
    EXPECT_THROW_MSG(scalar_tensor(-inf, DType::Int64), ValueError, "scalar_tensor: float64 value -inf");
    EXPECT_THROW_MSG(arange(2147483640.0, 2147483650.0, 1.0, DType::Int32), ValueError,
                     "arange: float64 value 2147483648 cannot be converted to int32");
    EXPECT_THROW_MSG(arange(0.0, 1e30), ShapeError, "elements, too many");
    EXPECT_THROW_MSG(scalar_tensor(nan).item<std::int64_t>(), ValueError, "item: float32 value nan");
    EXPECT_THROW_MSG(scalar_tensor(3e9).item<std::int32_t>(), ValueError, "item: float32 value 3e+09");
    EXPECT_EQ(scalar_tensor(-2.75).item<std::int64_t>(), -2);
    // Bool targets take any nonzero value as true, NaN included (as PyTorch).
    EXPECT_EQ(from_vector<float>({nan, 0.f, -inf}).to(DType::Bool).to_vector<bool>(),
              (std::vector<bool>{true, false, true}));
}

TEST(Tensor, Bf16RoundsToNearestEven) {
    // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to even (1).
    EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 0x1p-8f)), 1.0f);
    EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);
    EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
    EXPECT_EQ(bf16_to_float(float_to_bf16(INFINITY)), INFINITY);
}

TEST(Tensor, F16ConversionCoversNormalsSubnormalsAndOverflow) {
    EXPECT_EQ(f16_to_float(float_to_f16(65504.0f)), 65504.0f);  // largest half
    EXPECT_EQ(f16_to_float(float_to_f16(70000.0f)), INFINITY);
    EXPECT_EQ(f16_to_float(float_to_f16(0x1p-24f)), 0x1p-24f);  // smallest subnormal
    EXPECT_EQ(f16_to_float(float_to_f16(0x1p-26f)), 0.0f);      // rounds to zero
    EXPECT_EQ(f16_to_float(float_to_f16(-0x1.8p-20f)), -0x1.8p-20f);
    EXPECT_EQ(float_to_f16(1.0f).bits, 0x3c00);
    EXPECT_EQ(float_to_f16(-2.0f).bits, 0xc000);
    EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(NAN))));
    // Every finite half value survives the round trip through float.
    for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
        const float16 h{static_cast<std::uint16_t>(bits)};
        const float f = f16_to_float(h);
        if (std::isnan(f)) continue;
        EXPECT_EQ(float_to_f16(f).bits, h.bits) << bits;
    }
}

TEST(Tensor, StorageTypesRefuseCompute) {
    Tensor h = zeros({2}).to(DType::BFloat16);
    EXPECT_THROW_MSG(add(h, h), DTypeError, "storage type");
}

TEST(Tensor, PrintingShowsShapeDtypeAndLeadingValues) {
    std::ostringstream os;
    os << arange(20, DType::Float32).reshape({4, 5});
    const std::string s = os.str();
    EXPECT_NE(s.find("shape=[4, 5]"), std::string::npos) << s;
    EXPECT_NE(s.find("float32"), std::string::npos) << s;
    EXPECT_NE(s.find("0, 1, 2"), std::string::npos) << s;
    EXPECT_NE(s.find("20 values"), std::string::npos) << s;
    EXPECT_NE(zeros({1}).requires_grad_().to_string().find("requires_grad=true"), std::string::npos);
}

TEST(Tensor, UndefinedTensorThrowsClearly) {
    Tensor t;
    EXPECT_FALSE(t.defined());
    EXPECT_THROW_MSG(t.shape(), ValueError, "undefined");
}

TEST(Tensor, NegativeShapeIsAnError) { EXPECT_THROW_MSG(zeros({2, -1}), ShapeError, "negative"); }

TEST(Tensor, MethodReductions) {
    Tensor t = arange(6, DType::Float64).reshape({2, 3});
    EXPECT_EQ(t.sum().item(), 15.0);
    EXPECT_EQ(t.mean().item(), 2.5);
    EXPECT_EQ(t.sum({0}).to_vector<double>(), (std::vector<double>{3, 5, 7}));
    EXPECT_EQ(t.mean({1}, true).shape(), (Shape{2, 1}));
    EXPECT_EQ(from_vector<bool>({true, true, false}).sum().item<std::int64_t>(), 2);
}

}  // namespace
