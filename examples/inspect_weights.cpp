// inspect_weights: describes a safetensors file — its metadata, then per tensor the name, the
// file's dtype, the shape, the byte count and an FNV-1a 64 checksum of the stored bytes — after
// graft's full validation. A malformed file prints the error and exits with status 1.
//
//   inspect_weights tests/golden/mlp.safetensors
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <graft/graft.hpp>

namespace {

constexpr const char* kUsage =
    "usage: inspect_weights FILE\n"
    "Validates a safetensors file and prints its metadata, then one line per tensor:\n"
    "name, dtype as stored, shape, bytes, and the FNV-1a 64 checksum of its bytes.\n";

/// FNV-1a, 64 bits, continued from `hash`.
std::uint64_t fnv1a64(const char* data, std::size_t n, std::uint64_t hash = 0xcbf29ce484222325ull) {
    for (std::size_t i = 0; i < n; ++i) {
        hash ^= static_cast<unsigned char>(data[i]);
        hash *= 0x100000001b3ull;
    }
    return hash;
}

/// The checksum of bytes [begin, end) of the file, read in chunks.
std::uint64_t checksum(std::ifstream& in, std::uint64_t begin, std::uint64_t end, const std::string& name) {
    in.seekg(static_cast<std::streamoff>(begin));
    std::vector<char> buf(1 << 16);
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (std::uint64_t left = end - begin; left > 0;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
        if (!in.read(buf.data(), static_cast<std::streamsize>(n)))
            throw graft::IOError("reading the bytes of tensor '" + name + "' failed");
        hash = fnv1a64(buf.data(), n, hash);
        left -= n;
    }
    return hash;
}

int inspect(const std::string& path) {
    const graft::io::SafetensorsHeader header = graft::io::read_safetensors_header(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw graft::IOError("cannot open '" + path + "' for reading");
    std::cout << path << ": " << header.tensors.size() << " tensors, " << header.metadata.size()
              << " metadata entries\n";
    for (const auto& [key, value] : header.metadata) std::cout << "  metadata " << key << " = " << value << "\n";
    std::uint64_t total = 0;
    for (const auto& t : header.tensors) {
        const std::uint64_t bytes = t.data_end - t.data_begin;
        char sum[17];
        std::snprintf(sum, sizeof sum, "%016llx",
                      static_cast<unsigned long long>(
                          checksum(in, header.data_offset + t.data_begin, header.data_offset + t.data_end, t.name)));
        std::cout << "  " << t.name << "  " << t.dtype << "  " << graft::shape_str(t.shape) << "  " << bytes
                  << " bytes  fnv1a64 " << sum << "\n";
        total += bytes;
    }
    std::cout << "total " << total << " bytes of tensor data\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::cout << kUsage;
        return 0;
    }
    if (argc != 2) {
        std::cerr << kUsage;
        return 2;
    }
    try {
        return inspect(argv[1]);
    } catch (const std::exception& e) {
        std::cerr << "inspect_weights: " << e.what() << "\n";
        return 1;
    }
}
