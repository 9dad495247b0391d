// expect_same_bits: a test helper that fails unless two float32 tensors hold the same bits.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>

#include "graft/tensor.hpp"

namespace graft::test {

/// Fails unless a and b are both undefined, or both defined with one shape and the same float32
/// bits in every element; `what` names them in the message.
inline void expect_same_bits(const Tensor& a, const Tensor& b, const std::string& what) {
    ASSERT_EQ(a.defined(), b.defined()) << what;
    if (!a.defined()) return;
    ASSERT_EQ(a.shape(), b.shape()) << what;
    const auto va = a.to_vector<float>(), vb = b.to_vector<float>();
    std::size_t differing = 0;
    for (std::size_t i = 0; i < va.size(); ++i)
        differing += std::bit_cast<std::uint32_t>(va[i]) != std::bit_cast<std::uint32_t>(vb[i]) ? 1 : 0;
    EXPECT_EQ(differing, 0u) << what << ": " << differing << " of " << va.size() << " values differ";
}

}  // namespace graft::test
