// Internal: the models of a tokenizer.json (BPE, WordPiece, Unigram) and the vocabulary they share.
#pragma once

#include "tokenizers/components.hpp"

namespace graft::tokenizers::detail {

/// model.vocab: an object {token: id} with ids in [0, 2^31).
Vocab read_vocab(const json& j, const JsonPath& at);
std::unique_ptr<Model> make_bpe(const json& j, const JsonPath& at);
std::unique_ptr<Model> make_wordpiece(const json& j, const JsonPath& at);
std::unique_ptr<Model> make_unigram(const json& j, const JsonPath& at);
/// Consecutive `unk` tokens of out[first, end) become one covering their spans (fuse_unk).
void fuse_unknowns(std::vector<Token>& out, std::size_t first, std::int64_t unk);

}  // namespace graft::tokenizers::detail
