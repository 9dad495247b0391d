// Whole-file reads for the data loaders and model configs, with gzip decompression through zlib.
#include "io/read_text.hpp"

#include <zlib.h>

#include "graft/error.hpp"
#include "io/readable_file.hpp"

namespace graft::io::detail {

namespace {

std::string gunzip(const std::string& packed, const std::string& where) {
    z_stream zs{};
    // 15 + 32: a zlib or gzip header, detected automatically.
    if (inflateInit2(&zs, 15 + 32) != Z_OK) throw IOError(where + ": zlib could not start decompressing");
    std::string out;
    char buf[1 << 16];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    zs.avail_in = static_cast<uInt>(packed.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && zs.avail_in > 0) {
            // Concatenated gzip members (what `cat a.gz b.gz` makes): continue with the next one.
            out.append(buf, sizeof buf - zs.avail_out);
            inflateReset(&zs);
            rc = Z_OK;
            continue;
        }
        if (rc != Z_OK && rc != Z_STREAM_END) {
            const std::string msg = zs.msg ? zs.msg : (rc == Z_BUF_ERROR ? "truncated data" : "corrupt data");
            const auto at = zs.total_in;
            inflateEnd(&zs);
            throw IOError(where + ": the gzip data is invalid near compressed byte " + std::to_string(at) + " (" + msg + ")");
        }
        out.append(buf, sizeof buf - zs.avail_out);
        if (out.size() > max_text_bytes) {
            inflateEnd(&zs);
            throw IOError(where + ": decompressed text exceeds " + std::to_string(max_text_bytes) + " bytes");
        }
        if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
            inflateEnd(&zs);
            throw IOError(where + ": the gzip data is truncated (ends after " + std::to_string(packed.size()) + " bytes)");
        }
    }
    inflateEnd(&zs);
    return out;
}

}  // namespace

std::string read_text_file(const std::filesystem::path& path, const char* who) {
    const io::detail::ReadableFile file(path, who);
    std::string bytes = file.read_all(max_text_bytes);
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b)
        return gunzip(bytes, file.where());
    return bytes;
}

}  // namespace graft::io::detail
