// TextDataset's token cache: the key, and the binary file (native byte order: the cache belongs
// to the machine that wrote it). Layout: the magic line, six uint64 (size, mtime, tokenizer hash,
// options hash, examples n, tokens total), then n uint64 lengths, total int64 ids, total int64
// token type ids.
#include "data/token_cache.hpp"

#include <cstring>
#include <fstream>
#include <string_view>
#include <system_error>

#include "io/atomic_write.hpp"
#include "io/printable.hpp"

namespace graft::data::detail {

namespace {

constexpr std::string_view kMagic = "graft token cache 1\n";

/// FNV-1a, 64 bits, continuing from `hash`.
std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL) {
    for (unsigned char c : bytes) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string hex(std::uint64_t v) {
    static const char digits[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 15];
    return s;
}

template <class T>
void append(std::string& out, const T* data, std::size_t count) {
    out.append(reinterpret_cast<const char*>(data), count * sizeof(T));
}

}  // namespace

TokenCacheKey token_cache_key(const std::filesystem::path& path, const tokenizers::Tokenizer& tokenizer,
                              const TextDatasetOptions& options) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    TokenCacheKey key;
    key.size = std::filesystem::file_size(path, ec);
    if (ec) throw IOError("TextDataset: cannot read the size of " + io::detail::quote(path.string()) + ": " + ec.message());
    const auto time = std::filesystem::last_write_time(path, ec);
    if (ec) throw IOError("TextDataset: cannot read the time of " + io::detail::quote(path.string()) + ": " + ec.message());
    key.mtime = static_cast<std::int64_t>(time.time_since_epoch().count());
    key.tokenizer_hash = fnv1a(tokenizer.to_json());
    // What shapes the ids besides the file and the tokenizer: the text column and the length cut.
    const std::string shape = options.table.text_field + '\0' + std::to_string(static_cast<int>(options.table.format)) +
                              '\0' + std::to_string(options.table.header) + '\0' + std::to_string(options.max_length);
    key.options_hash = fnv1a(shape);
    // One file per data file and text column: a new tokenizer or edit replaces it.
    key.file_name = path.filename().string() + "." + hex(fnv1a(absolute.string() + '\0' + options.table.text_field)) + ".tokens";
    return key;
}

std::optional<CachedTokens> read_token_cache(const std::filesystem::path& dir, const TokenCacheKey& key) {
    std::ifstream in(dir / key.file_name, std::ios::binary);
    if (!in) return std::nullopt;
    std::string magic(kMagic.size(), '\0');
    std::uint64_t header[6] = {};
    if (!in.read(magic.data(), static_cast<std::streamsize>(magic.size())) || magic != kMagic) return std::nullopt;
    if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return std::nullopt;
    if (header[0] != key.size || static_cast<std::int64_t>(header[1]) != key.mtime || header[2] != key.tokenizer_hash ||
        header[3] != key.options_hash)
        return std::nullopt;
    const std::uint64_t n = header[4], total = header[5];
    // Sizes beyond the file's bytes mean a damaged file, not an allocation to attempt.
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(dir / key.file_name, ec);
    if (ec || n > bytes / 8 || total > bytes / 16 || kMagic.size() + sizeof header + 8 * n + 16 * total != bytes)
        return std::nullopt;
    CachedTokens cached;
    std::vector<std::uint64_t> lengths(n);
    cached.ids.resize(total);
    cached.type_ids.resize(total);
    if (!in.read(reinterpret_cast<char*>(lengths.data()), static_cast<std::streamsize>(8 * n)) ||
        !in.read(reinterpret_cast<char*>(cached.ids.data()), static_cast<std::streamsize>(8 * total)) ||
        !in.read(reinterpret_cast<char*>(cached.type_ids.data()), static_cast<std::streamsize>(8 * total)))
        return std::nullopt;
    std::uint64_t sum = 0;
    for (std::uint64_t len : lengths) sum += len;
    if (sum != total) return std::nullopt;
    cached.lengths.assign(lengths.begin(), lengths.end());
    return cached;
}

void write_token_cache(const std::filesystem::path& dir, const TokenCacheKey& key, const std::vector<std::int64_t>& ids,
                       const std::vector<std::int64_t>& type_ids, const std::vector<std::size_t>& lengths) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw IOError("TextDataset: cannot create the cache directory " + io::detail::quote(dir.string()) + ": " +
                      ec.message());
    std::string out(kMagic);
    const std::uint64_t header[6] = {key.size, static_cast<std::uint64_t>(key.mtime), key.tokenizer_hash,
                                     key.options_hash, lengths.size(), ids.size()};
    append(out, header, 6);
    const std::vector<std::uint64_t> lengths64(lengths.begin(), lengths.end());
    append(out, lengths64.data(), lengths64.size());
    append(out, ids.data(), ids.size());
    append(out, type_ids.data(), type_ids.size());
    io::detail::write_file_atomically(dir / key.file_name, out, "TextDataset cache");
}

}  // namespace graft::data::detail
