// Aligned allocation and external-buffer wrapping for Storage.
#include "graft/storage.hpp"

#include <cstdlib>
#include <new>

namespace graft {

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes) {
    // Round up so aligned_alloc's size requirement holds; never ask for zero bytes.
    const std::size_t padded = ((nbytes + kAlignment - 1) / kAlignment) * kAlignment;
    void* p = std::aligned_alloc(kAlignment, padded == 0 ? kAlignment : padded);
    if (p == nullptr) throw std::bad_alloc();
    return std::shared_ptr<Storage>(new Storage(p, nbytes, [](void* q) { std::free(q); }, true));
}

std::shared_ptr<Storage> Storage::wrap(void* data, std::size_t nbytes, std::function<void(void*)> deleter,
                                       bool writable) {
    return std::shared_ptr<Storage>(new Storage(data, nbytes, std::move(deleter), writable));
}

Storage::~Storage() {
    if (deleter_) deleter_(data_);
}

}  // namespace graft
