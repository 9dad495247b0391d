// Allocation sizes: element and byte counts that overflow, and requests the machine cannot
// satisfy, are graft errors naming the op, the shape and the bytes, never a crash, a short buffer
// or std::bad_alloc.
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "test_util.hpp"

using namespace graft;

namespace {

constexpr std::int64_t k31 = std::int64_t{1} << 31;
constexpr std::int64_t k40 = std::int64_t{1} << 40;
constexpr std::int64_t k45 = std::int64_t{1} << 45;
constexpr std::int64_t k62 = std::int64_t{1} << 62;

TEST(Allocation, ByteCountOverflowIsAShapeErrorNamingOpShapeAndDtype) {
    // 2^62 float32 elements: the count fits in int64, its 2^64 bytes do not.
    EXPECT_THROW_MSG(ones({k62}), ShapeError,
                     "ones: shape [4611686018427387904] float32: 4611686018427387904 elements of 4 bytes overflow");
    EXPECT_THROW_MSG(zeros({k62}), ShapeError, "zeros: shape [4611686018427387904] float32");
    EXPECT_THROW_MSG(empty({k62}), ShapeError, "empty: shape [4611686018427387904] float32");
    EXPECT_THROW_MSG(full({k62}, 2.0), ShapeError, "full: shape [4611686018427387904] float32");
    EXPECT_THROW_MSG(randn({k62}), ShapeError, "randn: shape [4611686018427387904] float32");
    EXPECT_THROW_MSG(rand({k62}), ShapeError, "rand: shape [4611686018427387904] float32");
    EXPECT_THROW_MSG(randint(0, 5, {k62 / 2}), ShapeError, "randint: shape [2305843009213693952] int64");
    EXPECT_THROW_MSG(zeros({k62 / 2}, DType::Float64), ShapeError, "float64: 2305843009213693952 elements of 8 bytes");
    // The _like factories of a broadcast view that claims that many elements.
    const Tensor huge = zeros({1}).expand({k62});
    EXPECT_THROW_MSG(empty_like(huge), ShapeError, "empty_like: shape [4611686018427387904] float32");
    EXPECT_THROW_MSG(ones_like(huge), ShapeError, "ones: shape [4611686018427387904] float32");
    float blob = 0.f;
    EXPECT_THROW_MSG(from_blob(&blob, {k62}, DType::Float32), ShapeError, "from_blob: shape [4611686018427387904]");
}

TEST(Allocation, ElementCountOverflowIsAShapeErrorNamingTheOp) {
    EXPECT_THROW_MSG(ones({k40, k40}), ShapeError,
                     "ones: invalid shape [1099511627776, 1099511627776]: too many elements");
    EXPECT_THROW_MSG(zeros({k40, k40}), ShapeError, "zeros: invalid shape");
    EXPECT_THROW_MSG(empty({k40, k40}), ShapeError, "empty: invalid shape");
    EXPECT_THROW_MSG(full({k40, k40}, 1.0), ShapeError, "full: invalid shape");
    EXPECT_THROW_MSG(randn({k40, k40}), ShapeError, "randn: invalid shape");
}

TEST(Allocation, MoreThanTheMachinesMemoryIsAMemoryError) {
    // 2^45 float32 = 128 TiB: a valid size, more than any machine's memory and swap. It is refused
    // before the allocator is asked (AddressSanitizer's would abort on it).
    EXPECT_THROW_MSG(ones({k45}), MemoryError,
                     "ones: shape [35184372088832] float32: cannot allocate 128.0 TiB (140737488355328 bytes): "
                     "more than this machine's memory and swap");
    EXPECT_THROW_MSG(zeros({k45}), MemoryError, "zeros: shape [35184372088832] float32: cannot allocate");
    EXPECT_THROW_MSG(empty({k45}), MemoryError, "empty: shape [35184372088832] float32: cannot allocate");
    EXPECT_THROW_MSG(full({k45}, 3.0), MemoryError, "full: shape [35184372088832] float32: cannot allocate");
    EXPECT_THROW_MSG(randn({k45}), MemoryError, "randn: shape [35184372088832] float32: cannot allocate");
    EXPECT_THROW_MSG(zeros({k40, 1024}, DType::Bool), MemoryError, "zeros: shape [1099511627776, 1024] bool");
    // Storage itself: sizes next to SIZE_MAX, whose alignment rounding would wrap around.
    constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
    EXPECT_THROW_MSG(Storage::allocate(kMax), MemoryError, "cannot allocate");
    EXPECT_THROW_MSG(Storage::allocate(kMax - 10), MemoryError, "cannot allocate");
}

TEST(Allocation, EmbeddingTooLargeNamesTheLayer) {
    EXPECT_THROW_MSG(nn::Embedding(k31, k31), ShapeError,
                     "Embedding(2147483648, 2147483648): empty: shape [2147483648, 2147483648] float32");
    EXPECT_THROW_MSG(nn::Embedding(k40, 8), MemoryError, "Embedding(1099511627776, 8): empty: shape");
}

#if defined(__SANITIZE_ADDRESS__)
#define GRAFT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GRAFT_TEST_ASAN 1
#endif
#endif

/// Bytes of address space this process has mapped (/proc/self/statm's first field, in pages).
std::size_t mapped_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f != nullptr) {
        if (std::fscanf(f, "%lu", &pages) != 1) pages = 0;
        std::fclose(f);
    }
    return static_cast<std::size_t>(pages) * 4096;
}

/// The death test's child: caps the address space at what is mapped plus 256 MiB, asks for a
/// 1 GiB tensor and exits 0 if that is the MemoryError of a null from the allocator.
[[noreturn]] void allocate_past_the_address_space_limit() {
    const rlimit cap{mapped_bytes() + (std::size_t{256} << 20), RLIM_INFINITY};
    if (::setrlimit(RLIMIT_AS, &cap) != 0) std::_Exit(4);
    try {
        const Tensor t = empty({std::int64_t{1} << 28});
        std::_Exit(1);
    } catch (const MemoryError& e) {
        const std::string msg = e.what();
        const bool named = msg.find("empty: shape [268435456] float32: cannot allocate 1.0 GiB (1073741824 bytes): "
                                    "the system is out of memory") != std::string::npos;
        std::_Exit(named ? 0 : 2);
    } catch (...) {
        std::_Exit(3);
    }
}

TEST(Allocation, ARequestTheSystemRefusesIsAMemoryError) {
#ifdef GRAFT_TEST_ASAN
    GTEST_SKIP() << "AddressSanitizer's allocator aborts, rather than returning null, at an address-space limit";
#else
    // A 1 GiB tensor is below memory and swap, so it is not refused up front; with the address
    // space capped, the allocator returns null.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(allocate_past_the_address_space_limit(), ::testing::ExitedWithCode(0), "");
#endif
}

}  // namespace
