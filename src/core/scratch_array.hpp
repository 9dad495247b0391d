// Internal: an uninitialised array of T from the buffer cache (graft/memory.hpp), for an op's
// large scratch (im2col columns, layout copies). A std::vector of that size is zero-filled on
// every call and, above glibc's mmap threshold, mapped and faulted in again each time; from the
// cache the same buffer comes back step after step, already mapped, and is not cleared.
//
//   detail::ScratchArray<float> col(rows * cols);   // col.data(): contents unspecified
#pragma once

#include <cstddef>

#include "core/buffer_cache.hpp"

namespace graft::detail {

template <class T>
class ScratchArray {
public:
    explicit ScratchArray(std::size_t count) : bytes_(count * sizeof(T)) {
        if (count > 0) data_ = static_cast<T*>(buffer_acquire(bytes_));
    }
    ~ScratchArray() {
        if (data_ != nullptr) buffer_release(data_, bytes_);
    }
    ScratchArray(const ScratchArray&) = delete;
    ScratchArray& operator=(const ScratchArray&) = delete;

    /// The first element (null for an empty array).
    T* data() const { return data_; }

private:
    std::size_t bytes_;
    T* data_ = nullptr;
};

}  // namespace graft::detail
