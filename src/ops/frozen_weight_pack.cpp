// The frozen-weight pack cache (frozen_weight_pack.hpp): a small LRU list under a mutex.
#include "ops/frozen_weight_pack.hpp"

#include <list>
#include <mutex>

#include "graft/autocast.hpp"
#include "kernels/cpu/cpu_features.hpp"

namespace graft::detail {

namespace {

/// Below this many weights a pack per call costs little next to the product (and a frozen tiny
/// head is not worth a cache entry).
constexpr std::int64_t kMinFrozenPackElements = std::int64_t{1} << 16;

struct Entry {
    std::weak_ptr<Storage> storage;
    const Storage* raw;  // identity while storage is alive
    std::int64_t offset;
    Shape shape, strides;
    std::uint64_t version;
    kernels::Isa isa;
    std::shared_ptr<const kernels::SgemmPackedB> pack;
    std::size_t bytes;
};

std::mutex g_mutex;
std::list<Entry> g_entries;  // most recently used first
std::size_t g_bytes = 0;

bool matches(const Entry& e, const Tensor& w, kernels::Isa isa) {
    if (e.raw != w.storage().get() || e.offset != w.offset() || e.shape != w.shape() || e.strides != w.strides() ||
        e.version != w.storage()->version() || e.isa != isa)
        return false;
    return !e.storage.expired();
}

}  // namespace

std::shared_ptr<const kernels::SgemmPackedB> frozen_weight_pack(const Tensor& w) {
    // Under autocast the GEMM packs bf16 itself; these panels are float32.
    if (w.dtype() != DType::Float32 || w.dim() != 2 || w.requires_grad() || w.numel() < kMinFrozenPackElements ||
        !w.storage() || Autocast::enabled())
        return nullptr;
    const kernels::Isa isa = kernels::active_isa();
    {
        const std::lock_guard<std::mutex> lock(g_mutex);
        for (auto it = g_entries.begin(); it != g_entries.end(); ++it)
            if (matches(*it, w, isa)) {
                g_entries.splice(g_entries.begin(), g_entries, it);
                return it->pack;
            }
    }
    // B = wᵀ: element (k, n) at w[n, k]. The version is read before packing: a write racing the
    // pack then leaves an entry that never matches.
    const std::uint64_t version = w.storage()->version();
    const std::int64_t N = w.size(0), K = w.size(1);
    auto pack = std::make_shared<const kernels::SgemmPackedB>(K, N, w.data_ptr<float>(), w.stride(1), w.stride(0));
    const std::size_t bytes = static_cast<std::size_t>(N + 32) * static_cast<std::size_t>(K) * sizeof(float);
    if (bytes > kFrozenPackBytes) return pack;  // used for this call only
    const std::lock_guard<std::mutex> lock(g_mutex);
    // Entries for this weight's earlier versions, or for freed storage, are dead: drop them.
    for (auto it = g_entries.begin(); it != g_entries.end();) {
        if (it->storage.expired() || (it->raw == w.storage().get() && it->offset == w.offset())) {
            g_bytes -= it->bytes;
            it = g_entries.erase(it);
        } else {
            ++it;
        }
    }
    while (!g_entries.empty() && g_bytes + bytes > kFrozenPackBytes) {
        g_bytes -= g_entries.back().bytes;
        g_entries.pop_back();
    }
    g_entries.push_front(
        {w.storage(), w.storage().get(), w.offset(), w.shape(), w.strides(), version, isa, pack, bytes});
    g_bytes += bytes;
    return pack;
}

void clear_frozen_weight_packs() {
    const std::lock_guard<std::mutex> lock(g_mutex);
    g_entries.clear();
    g_bytes = 0;
}

}  // namespace graft::detail
