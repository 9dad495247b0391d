// Internal: building a PieceTable (piece_table.hpp).
#include "tokenizers/piece_table.hpp"

#include <algorithm>

#include "graft/tokenizers/tokenizer.hpp"

namespace graft::tokenizers::detail {

PieceTable::PieceTable(const std::vector<std::pair<std::string, std::int64_t>>& entries) {
    // A power of two at least twice the entries (and at least 2), so that probes stay short and
    // an empty slot always ends one.
    unsigned bits = 1;
    while ((std::size_t{1} << bits) < 2 * entries.size()) ++bits;
    slots_.resize(std::size_t{1} << bits);
    mask_ = slots_.size() - 1;
    shift_ = 64 - bits;
    std::size_t bytes = 0;
    for (const auto& e : entries) bytes += e.first.size();
    if (bytes >= (std::size_t{1} << 32))
        throw TokenizerError("vocabulary: the tokens hold " + std::to_string(bytes) + " bytes; at most 4 GiB - 1 are supported");
    pool_.reserve(bytes);
    for (const auto& [token, id] : entries) {
        const std::uint64_t h = hash(token);
        std::size_t i = slot_of(h);
        while (slots_[i].id >= 0) i = (i + 1) & mask_;
        slots_[i] = {static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(token.size()),
                     static_cast<std::uint32_t>(pool_.size()), static_cast<std::int32_t>(id)};
        pool_ += token;
        longest_ = std::max(longest_, token.size());
    }
}

}  // namespace graft::tokenizers::detail
