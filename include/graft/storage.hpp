// graft/storage.hpp — the shared, 64-byte-aligned buffer behind tensors.
//
// Several tensors (views) may share one Storage. The storage carries a version counter
// that every in-place write bumps, so autograd can tell when a tensor it saved for a
// backward has been modified since.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace graft {

class Storage {
public:
    /// Alignment of every buffer graft allocates (one cache line, one AVX-512 vector).
    static constexpr std::size_t kAlignment = 64;

    /// A new uninitialised buffer of nbytes, 64-byte aligned. MemoryError (naming the bytes) when
    /// nbytes is more than the machine's memory and swap or the system cannot provide it.
    static std::shared_ptr<Storage> allocate(std::size_t nbytes);

    /// Wraps memory owned elsewhere. deleter (may be empty) runs when the last tensor lets go.
    /// A read-only storage makes every in-place write fail with a clear error.
    static std::shared_ptr<Storage> wrap(void* data, std::size_t nbytes, std::function<void(void*)> deleter,
                                         bool writable = true);

    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    std::size_t nbytes() const { return nbytes_; }
    bool writable() const { return writable_; }

    /// Number of in-place writes so far.
    std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
    void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

    /// How many live SavedTensors (tensors kept for a backward) view this storage.
    int saved_refs() const { return saved_refs_.load(std::memory_order_relaxed); }
    void add_saved_ref() { saved_refs_.fetch_add(1, std::memory_order_relaxed); }
    void drop_saved_ref() { saved_refs_.fetch_sub(1, std::memory_order_relaxed); }

private:
    Storage(void* data, std::size_t nbytes, std::function<void(void*)> deleter, bool writable)
        : data_(data), nbytes_(nbytes), deleter_(std::move(deleter)), writable_(writable) {}

    void* data_;
    std::size_t nbytes_;
    std::function<void(void*)> deleter_;
    bool writable_;
    std::atomic<std::uint64_t> version_{0};
    std::atomic<int> saved_refs_{0};
};

}  // namespace graft
