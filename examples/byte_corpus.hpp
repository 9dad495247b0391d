// byte_corpus.hpp — a text file as byte tokens (ids 0…255) for the language-model examples: split
// into training and validation parts, and cut into windows of a fixed length.
//
//   const examples::Corpus c = examples::read_corpus("/usr/share/common-licenses/GPL-3", /*block=*/64);
//   Tensor ids = examples::windows(c.train, /*batch=*/16, /*block=*/64, &generator);   // int64 [16, 64]
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <graft/graft.hpp>

namespace examples {

/// A text as byte tokens, split 90 % / 10 % into training and validation parts.
struct Corpus {
    std::vector<std::int64_t> train, val;
};

inline Corpus read_corpus(const std::filesystem::path& path, std::int64_t block) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw graft::IOError("cannot open " + path.string());
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::size_t n_val = text.size() / 10;
    if (text.size() - n_val <= static_cast<std::size_t>(block) + 1 || n_val <= static_cast<std::size_t>(block) + 1)
        throw graft::ValueError(path.string() + " is too short for --block " + std::to_string(block));
    Corpus c;
    for (std::size_t i = 0; i < text.size(); ++i)
        (i < text.size() - n_val ? c.train : c.val).push_back(static_cast<unsigned char>(text[i]));
    return c;
}

/// `batch` windows of block tokens starting at random positions (or evenly spaced ones).
inline graft::Tensor windows(const std::vector<std::int64_t>& tokens, std::int64_t batch, std::int64_t block,
                             graft::Generator* g) {
    std::vector<std::int64_t> ids;
    const std::int64_t span = static_cast<std::int64_t>(tokens.size()) - block;
    for (std::int64_t b = 0; b < batch; ++b) {
        const std::int64_t start = g ? g->randint(0, span) : b * span / batch;
        ids.insert(ids.end(), tokens.begin() + start, tokens.begin() + start + block);
    }
    return graft::from_vector(ids, {batch, block});
}

}  // namespace examples
