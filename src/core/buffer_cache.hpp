// Internal: the size-class cache behind Storage::allocate (graft/memory.hpp).
#pragma once

#include <cstddef>

namespace graft::detail {

/// A 64-byte-aligned buffer of at least nbytes; nbytes is raised to the size actually given,
/// which is what buffer_release must be told. MemoryError (naming the bytes) when nbytes is more
/// than the machine's memory and swap or the system allocator refuses.
void* buffer_acquire(std::size_t& nbytes);

/// Takes back a buffer from buffer_acquire, for reuse or to free.
void buffer_release(void* p, std::size_t nbytes) noexcept;

}  // namespace graft::detail
