// Shared helpers for the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "graft/graft.hpp"
#include "graft/testing/gradcheck.hpp"

namespace graft::test {

/// A float64 leaf requiring grad with standard-normal values (seeded).
inline Tensor leaf64(const Shape& shape, std::uint64_t seed = 1) {
    Generator g(seed);
    return randn(shape, DType::Float64, &g).requires_grad_();
}

/// A float64 leaf requiring grad whose layout is the transpose of a contiguous tensor
/// (shape = `shape`, strides non-contiguous). shape must be 2-D.
inline Tensor leaf64_transposed(const Shape& shape, std::uint64_t seed = 1) {
    Generator g(seed);
    return randn({shape[1], shape[0]}, DType::Float64, &g).t().detach().requires_grad_();
}

/// A new directory under the test temp dir, removed with its contents when this goes out of scope.
class ScratchDir {
public:
    explicit ScratchDir(const std::string& tag) {
        std::string pattern = (std::filesystem::path(::testing::TempDir()) / ("graft-" + tag + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
        dir_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path path(const std::string& name) const { return dir_ / name; }

private:
    std::filesystem::path dir_;
};

/// Where the golden-export tests write for the PyTorch-side check: $GRAFT_EXPORT_DIR (created if
/// missing), else a new scratch directory that `scratch` keeps alive.
inline std::filesystem::path export_dir(std::optional<ScratchDir>& scratch) {
    if (const char* env = std::getenv("GRAFT_EXPORT_DIR"); env != nullptr && *env != '\0') {
        std::filesystem::create_directories(env);
        return env;
    }
    scratch.emplace("export");
    return scratch->dir();
}

/// Expects gradcheck to pass, printing its message otherwise.
#define EXPECT_GRADCHECK(fn, ...)                                            \
    do {                                                                     \
        auto gc_result_ = ::graft::testing::gradcheck((fn), {__VA_ARGS__});  \
        EXPECT_TRUE(gc_result_.ok) << gc_result_.message;                    \
    } while (0)

/// Expects `stmt` to throw ExceptionT whose message contains `needle`.
#define EXPECT_THROW_MSG(stmt, ExceptionT, needle)                                                   \
    do {                                                                                             \
        try {                                                                                        \
            stmt;                                                                                    \
            ADD_FAILURE() << "expected " #ExceptionT " from: " #stmt;                                \
        } catch (const ExceptionT& e_) {                                                             \
            EXPECT_NE(std::string(e_.what()).find(needle), std::string::npos)                        \
                << "message was: " << e_.what();                                                     \
        }                                                                                            \
    } while (0)

}  // namespace graft::test
