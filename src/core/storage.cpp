// Aligned allocation (through the buffer cache, core/buffer_cache.hpp) and external-buffer
// wrapping for Storage.
#include "graft/storage.hpp"

#include "core/buffer_cache.hpp"
#include "core/environment.hpp"

namespace graft {

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes) {
    detail::check_environment();
    std::size_t block = nbytes;  // raised to what the buffer cache hands out
    void* p = detail::buffer_acquire(block);
    try {
        return std::shared_ptr<Storage>(new Storage(p, nbytes, [block](void* q) { detail::buffer_release(q, block); },
                                                    true));
    } catch (...) {
        detail::buffer_release(p, block);
        throw;
    }
}

std::shared_ptr<Storage> Storage::wrap(void* data, std::size_t nbytes, std::function<void(void*)> deleter,
                                       bool writable) {
    return std::shared_ptr<Storage>(new Storage(data, nbytes, std::move(deleter), writable));
}

Storage::~Storage() {
    if (deleter_) deleter_(data_);
}

}  // namespace graft
