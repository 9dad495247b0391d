// graft/memory.hpp — the cache of freed tensor buffers.
//
//   graft::release_cached_memory();                  // hand every cached buffer back to the OS
//   graft::set_memory_cache_limit(256 << 20);         // or GRAFT_MEMORY_CACHE_MB=256; 0 turns it off
//   auto s = graft::memory_cache_stats();             // s.cached_bytes, s.hits, s.misses
//   graft::reset_peak_allocated_memory();             // then run a step …
//   auto a = graft::allocated_memory();               // a.in_use_bytes, a.peak_bytes
//
// A training step allocates the same activation and gradient buffers every step. Fresh large
// allocations come from the kernel (mmap), which maps and zeroes every page again on first touch
// and unmaps it on free; in a small CNN's step that was an eighth of the time. So buffers of
// 128 KiB and more that tensors let go of are kept, by size class (sizes rounded up to within
// 12.5 %), and handed to the next allocation of that class. Smaller buffers go straight to
// malloc/free. The cache holds at most the limit (default 1024 MiB; a buffer that would exceed
// it is freed), and a cached buffer that no allocation asked for during the last 4096 cacheable
// allocations is freed at the next miss, so sizes that never come back (a growing sequence, a
// one-off batch shape) do not pile up. It is process-wide and thread-safe. Under
// AddressSanitizer a cached buffer is poisoned, so a use after free is still reported.
#pragma once

#include <cstddef>
#include <cstdint>

namespace graft {

struct MemoryCacheStats {
    std::size_t cached_bytes = 0;  ///< held by the cache now, ready for reuse
    std::size_t limit_bytes = 0;   ///< the most it may hold
    std::uint64_t hits = 0;        ///< allocations served from the cache so far
    std::uint64_t misses = 0;      ///< cacheable allocations that had to ask the system
};

/// The cache's current figures.
MemoryCacheStats memory_cache_stats();

/// Sets the most the cache may hold, in bytes (0: no caching); frees what is above it now.
/// Default: GRAFT_MEMORY_CACHE_MB (a non-negative integer, else graft::ValueError at first use)
/// or 1024 MiB.
void set_memory_cache_limit(std::size_t bytes);

/// Frees every cached buffer (tensors in use are untouched).
void release_cached_memory();

/// Bytes of tensor storage and kernel scratch buffers graft holds: handed out and not yet given
/// back (buffers waiting in the cache are not counted; they show in memory_cache_stats()).
struct AllocatedMemory {
    std::size_t in_use_bytes = 0;  ///< held now
    std::size_t peak_bytes = 0;    ///< the most held at once since start or the last reset
};

/// The allocation counters now (process-wide; sizes as allocated: rounded up to the 64-byte
/// alignment and, from 128 KiB, to the cache's size class).
AllocatedMemory allocated_memory();

/// Starts a new high-water mark at what is held now.
void reset_peak_allocated_memory();

}  // namespace graft
