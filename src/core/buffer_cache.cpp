// The buffer cache (graft/memory.hpp): free lists per size class behind one mutex.
#include "core/buffer_cache.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(__linux__)
#include <sys/sysinfo.h>
#else
#include <unistd.h>
#endif

#include "graft/error.hpp"
#include "graft/memory.hpp"
#include "graft/storage.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GRAFT_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define GRAFT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define GRAFT_POISON(p, n) ((void)(p), (void)(n))
#define GRAFT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace graft {

namespace {

/// Buffers below this go straight to malloc/free (glibc serves them from its heap, without
/// mapping pages).
constexpr std::size_t kMinCached = std::size_t{128} << 10;
constexpr std::size_t kDefaultLimit = std::size_t{1024} << 20;

/// Bytes handed out by buffer_acquire and not yet released, and their high-water mark
/// (graft::allocated_memory).
std::atomic<std::size_t> g_in_use{0};
std::atomic<std::size_t> g_peak{0};

void count_acquired(std::size_t nbytes) noexcept {
    const std::size_t now = g_in_use.fetch_add(nbytes, std::memory_order_relaxed) + nbytes;
    std::size_t peak = g_peak.load(std::memory_order_relaxed);
    while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
}

/// n rounded up to a multiple of an eighth of its leading power of two (at least a page): at
/// most 12.5 % larger, and the few sizes a training loop uses map to few classes.
std::size_t size_class(std::size_t n) {
    int msb = 0;
    for (std::size_t v = n; v > 1; v >>= 1) ++msb;
    const std::size_t step = std::size_t{1} << (msb > 15 ? msb - 3 : 12);
    return (n + step - 1) / step * step;
}

std::size_t limit_from_env() {
    const char* env = std::getenv("GRAFT_MEMORY_CACHE_MB");
    if (env == nullptr || *env == '\0') return kDefaultLimit;
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(env, &end, 10);
    if (*end != '\0' || env[0] == '-' || mb > (std::size_t{1} << 40))
        throw ValueError("GRAFT_MEMORY_CACHE_MB: expected a non-negative integer (MiB), got '" + std::string(env) +
                         "'");
    return static_cast<std::size_t>(mb) << 20;
}

/// A cached buffer and the count of cacheable allocations when it was given back.
struct Block {
    void* ptr;
    std::size_t bytes;
    std::uint64_t released_at;
};

/// Cached buffers not asked for during this many cacheable allocations are freed at the next
/// miss: a training loop reuses its buffers every step (a few hundred allocations), while sizes
/// that never come back (a growing sequence, a one-off batch) do not pile up to the limit.
constexpr std::uint64_t kMaxAge = 4096;

struct Cache {
    std::mutex mutex;
    std::list<Block> lru;  // oldest release first
    std::unordered_map<std::size_t, std::vector<std::list<Block>::iterator>> by_class;
    std::size_t cached = 0;
    std::size_t limit = 0;
    bool limit_set = false;
    std::uint64_t allocations = 0;  // cacheable ones, hits and misses
    std::uint64_t hits = 0, misses = 0;

    /// Reads GRAFT_MEMORY_CACHE_MB once (under the mutex).
    void ensure_limit() {
        if (limit_set) return;
        limit = limit_from_env();
        limit_set = true;
    }
    /// A cached buffer of this class, most recently given back first; nullptr if none.
    void* take(std::size_t cls) {
        auto it = by_class.find(cls);
        if (it == by_class.end() || it->second.empty()) return nullptr;
        const auto block = it->second.back();
        it->second.pop_back();
        void* p = block->ptr;
        lru.erase(block);
        cached -= cls;
        return p;
    }
    /// Frees the oldest cached buffer.
    void evict_oldest() {
        const Block b = lru.front();
        auto& same = by_class[b.bytes];
        same.erase(std::find(same.begin(), same.end(), lru.begin()));
        lru.pop_front();
        cached -= b.bytes;
        GRAFT_UNPOISON(b.ptr, b.bytes);
        std::free(b.ptr);
    }
    /// Frees the oldest buffers until at most `keep` bytes stay.
    void trim(std::size_t keep) {
        while (cached > keep && !lru.empty()) evict_oldest();
    }
    /// Frees the buffers nobody asked for during the last kMaxAge allocations.
    void drop_stale() {
        while (!lru.empty() && allocations - lru.front().released_at > kMaxAge) evict_oldest();
    }
};

/// Never destroyed: tensors in static storage may be freed after main returns.
Cache& cache() {
    static Cache* c = new Cache;
    return *c;
}

/// The x86-64 user address space (47 bits): no single buffer can be larger.
constexpr std::size_t kAddressSpace = std::size_t{1} << 47;

/// The machine's memory and swap, in bytes (at most kAddressSpace).
std::size_t memory_and_swap() {
#if defined(__linux__)
    struct sysinfo info {};
    if (::sysinfo(&info) != 0) return kAddressSpace;
    const long double total =
        (static_cast<long double>(info.totalram) + static_cast<long double>(info.totalswap)) * info.mem_unit;
#else
    const long double total = static_cast<long double>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
#endif
    return total > 0 && total < static_cast<long double>(kAddressSpace) ? static_cast<std::size_t>(total)
                                                                         : kAddressSpace;
}

/// "128.0 TiB": bytes in the largest binary unit that keeps the number at least 1.
std::string human_bytes(std::size_t bytes) {
    static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (v >= 1024.0 && unit + 1 < std::size(kUnits)) {
        v /= 1024.0;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[unit]);
    return text;
}

/// MemoryError unless a buffer of nbytes could be had at all. A request above the machine's
/// memory and swap cannot be backed (Linux refuses it by default, and AddressSanitizer's
/// allocator aborts on it rather than returning null), so it is refused before the allocator is
/// asked. The cap, far below SIZE_MAX, also keeps the alignment and size-class rounding of an
/// admitted request from overflowing.
void check_request(std::size_t nbytes) {
    static const std::size_t cap = memory_and_swap();
    if (nbytes > cap)
        throw MemoryError("cannot allocate " + human_bytes(nbytes) + " (" + std::to_string(nbytes) +
                          " bytes): more than this machine's memory and swap (" + human_bytes(cap) + ")");
}

void* system_alloc(std::size_t nbytes) {
    void* p = std::aligned_alloc(Storage::kAlignment, nbytes);
    if (p == nullptr)
        throw MemoryError("cannot allocate " + human_bytes(nbytes) + " (" + std::to_string(nbytes) +
                          " bytes): the system is out of memory");
    return p;
}

}  // namespace

namespace detail {

void* buffer_acquire(std::size_t& nbytes) {
    check_request(nbytes);
    nbytes = (nbytes + Storage::kAlignment - 1) / Storage::kAlignment * Storage::kAlignment;
    if (nbytes == 0) nbytes = Storage::kAlignment;
    if (nbytes < kMinCached) {
        void* p = system_alloc(nbytes);
        count_acquired(nbytes);
        return p;
    }
    nbytes = size_class(nbytes);
    Cache& c = cache();
    {
        std::lock_guard<std::mutex> lock(c.mutex);
        c.ensure_limit();
        ++c.allocations;
        if (void* p = c.take(nbytes)) {
            ++c.hits;
            GRAFT_UNPOISON(p, nbytes);
            count_acquired(nbytes);
            return p;
        }
        ++c.misses;
        c.drop_stale();
    }
    void* p = system_alloc(nbytes);
    count_acquired(nbytes);
    return p;
}

void buffer_release(void* p, std::size_t nbytes) noexcept {
    if (p == nullptr) return;
    g_in_use.fetch_sub(nbytes, std::memory_order_relaxed);
    if (nbytes >= kMinCached) {
        Cache& c = cache();
        std::lock_guard<std::mutex> lock(c.mutex);
        if (c.limit_set && c.cached + nbytes <= c.limit) {
            try {
                auto& same = c.by_class[nbytes];
                c.lru.push_back({p, nbytes, c.allocations});
                try {
                    same.push_back(std::prev(c.lru.end()));
                } catch (...) {
                    c.lru.pop_back();
                    throw;
                }
            } catch (...) {  // no memory for the bookkeeping: free the block instead
                std::free(p);
                return;
            }
            c.cached += nbytes;
            GRAFT_POISON(p, nbytes);
            return;
        }
    }
    std::free(p);
}

}  // namespace detail

MemoryCacheStats memory_cache_stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.ensure_limit();
    return {c.cached, c.limit, c.hits, c.misses};
}

void set_memory_cache_limit(std::size_t bytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.limit = bytes;
    c.limit_set = true;
    c.trim(bytes);
}

void release_cached_memory() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.trim(0);
}

AllocatedMemory allocated_memory() {
    return {g_in_use.load(std::memory_order_relaxed), g_peak.load(std::memory_order_relaxed)};
}

void reset_peak_allocated_memory() { g_peak.store(g_in_use.load(std::memory_order_relaxed), std::memory_order_relaxed); }

}  // namespace graft
