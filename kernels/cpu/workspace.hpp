// Internal: grow-only, 64-byte-aligned float scratch, one per owner (typically a thread_local per
// kernel family), kept between calls so that hot loops neither allocate nor map pages again.
//
//   thread_local Workspace scratch;               // each user its own: a nested call must not
//   float* buf = scratch.reserve(floats);         // reallocate the buffer its caller is using
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace graft::kernels {

class Workspace {
public:
    Workspace() = default;
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;
    ~Workspace() { std::free(data_); }

    /// At least `floats` floats (contents unspecified; earlier contents are lost when it grows);
    /// std::bad_alloc if they cannot be had.
    float* reserve(std::int64_t floats) {
        const std::int64_t rounded = (floats < 16 ? 16 : floats + 15) / 16 * 16;
        const std::size_t bytes = static_cast<std::size_t>(rounded) * sizeof(float);
        if (bytes > capacity_) {
            std::free(data_);
            data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
            capacity_ = data_ ? bytes : 0;
            if (!data_) throw std::bad_alloc();
        }
        return data_;
    }

private:
    float* data_ = nullptr;
    std::size_t capacity_ = 0;
};

}  // namespace graft::kernels
