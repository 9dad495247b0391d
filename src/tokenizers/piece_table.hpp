// Internal: a read-only open-addressing hash table of token strings → ids, for the models'
// innermost lookups (WordPiece tries the longest candidates of a word first, so most lookups
// miss). The hash is FNV-1a, built byte by byte, so that the hashes of every prefix of a word
// come from one pass over it; entries live in one buffer and one array of slots.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace graft::tokenizers::detail {

class PieceTable {
public:
    static constexpr std::uint64_t kStart = 0xcbf29ce484222325ull;
    /// The hash of a string extended by one byte (kStart for the empty string).
    static std::uint64_t step(std::uint64_t h, unsigned char byte) { return (h ^ byte) * 0x100000001b3ull; }
    static std::uint64_t hash(std::string_view s) {
        std::uint64_t h = kStart;
        for (char c : s) h = step(h, static_cast<unsigned char>(c));
        return h;
    }

    /// The table of `entries` (distinct strings, ids in [0, 2^31)).
    explicit PieceTable(const std::vector<std::pair<std::string, std::int64_t>>& entries = {});

    /// The id of `s`, whose hash is `h`, or -1.
    std::int64_t find(std::string_view s, std::uint64_t h) const {
        const auto tag = static_cast<std::uint32_t>(h);
        for (std::size_t i = slot_of(h);; i = (i + 1) & mask_) {
            const Slot& slot = slots_[i];
            if (slot.id < 0) return -1;
            if (slot.tag == tag && slot.length == s.size() && std::memcmp(pool_.data() + slot.offset, s.data(), s.size()) == 0)
                return slot.id;
        }
    }
    std::int64_t find(std::string_view s) const { return find(s, hash(s)); }
    /// The length in bytes of the longest entry.
    std::size_t longest() const { return longest_; }

private:
    struct Slot {
        std::uint32_t tag = 0;  // the low bits of the hash
        std::uint32_t length = 0;
        std::uint32_t offset = 0;  // in pool_
        std::int32_t id = -1;      // -1: empty
    };
    std::size_t slot_of(std::uint64_t h) const { return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ull) >> shift_); }

    std::vector<Slot> slots_;
    std::string pool_;
    std::size_t mask_ = 0;
    unsigned shift_ = 64;
    std::size_t longest_ = 0;
};

}  // namespace graft::tokenizers::detail
