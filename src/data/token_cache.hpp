// Internal: TextDataset's on-disk cache of token ids. One file per (data file, options) in the
// cache directory; its header holds the key (the data file's size and modification time, a hash
// of the tokenizer's tokenizer.json, and the options that shape the ids), so a file whose key
// differs from the current one is a miss and is rewritten.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graft/data/text_dataset.hpp"

namespace graft::data::detail {

struct TokenCacheKey {
    std::string file_name;  ///< the cache file's name inside the cache directory
    std::uint64_t size = 0;
    std::int64_t mtime = 0;
    std::uint64_t tokenizer_hash = 0;
    std::uint64_t options_hash = 0;
};

struct CachedTokens {
    std::vector<std::int64_t> ids;
    std::vector<std::int64_t> type_ids;
    std::vector<std::size_t> lengths;
};

/// The key of `path` tokenized by `tokenizer` with `options` (IOError naming the path when its
/// size or time cannot be read).
TokenCacheKey token_cache_key(const std::filesystem::path& path, const tokenizers::Tokenizer& tokenizer,
                              const TextDatasetOptions& options);
/// The cached ids for `key`, or nullopt when there is no file, its key differs or it is damaged.
std::optional<CachedTokens> read_token_cache(const std::filesystem::path& dir, const TokenCacheKey& key);
/// Writes the cache file for `key` atomically (the directory created when missing). IOError
/// naming the file when it cannot be written.
void write_token_cache(const std::filesystem::path& dir, const TokenCacheKey& key, const std::vector<std::int64_t>& ids,
                       const std::vector<std::int64_t>& type_ids, const std::vector<std::size_t>& lengths);

}  // namespace graft::data::detail
