// The vocabulary shared by the models, fuse_unk, and the model factory.
#include <algorithm>

#include "tokenizers/models.hpp"

namespace graft::tokenizers::detail {

void Vocab::set(const std::string& token, std::int64_t id) {
    ids[token] = id;
    if (static_cast<std::size_t>(id) >= tokens.size()) tokens.resize(static_cast<std::size_t>(id) + 1);
    tokens[static_cast<std::size_t>(id)] = token;
}

void Model::tokenize_ascii(std::string_view text, const std::uint32_t* origin, const std::vector<ByteRange>& words,
                           std::vector<Token>& out) const {
    std::vector<Text> texts(words.size());
    for (std::size_t w = 0; w < words.size(); ++w)
        for (std::uint32_t i = words[w].begin; i < words[w].end; ++i)
            texts[w].push(static_cast<unsigned char>(text[i]), {origin[i], origin[i] + 1});
    tokenize(texts, out);
}

Vocab read_vocab(const json& j, const JsonPath& at) {
    const json& vocab = object_field(j, "vocab", at);
    Vocab out;
    out.ids.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() >= (std::int64_t{1} << 31))
            (at / "vocab" / it.key()).fail("expected an id in [0, 2^31), found " + it->dump());
        out.set(it.key(), it->get<std::int64_t>());
    }
    return out;
}

void fuse_unknowns(std::vector<Token>& out, std::size_t first, std::int64_t unk) {
    std::size_t kept = first;
    for (std::size_t i = first; i < out.size(); ++i) {
        if (kept > first && out[i].id == unk && out[kept - 1].id == unk) {
            out[kept - 1].span.end = std::max(out[kept - 1].span.end, out[i].span.end);
            continue;
        }
        out[kept++] = out[i];
    }
    out.resize(kept);
}

std::unique_ptr<Model> make_model(const json& j, const JsonPath& at) {
    const std::string type = component_type(j, at);
    if (type == "BPE") return make_bpe(j, at);
    if (type == "WordPiece") return make_wordpiece(j, at);
    if (type == "Unigram") return make_unigram(j, at);
    (at / "type").fail("unsupported model type \"" + type + "\" (supported: BPE, WordPiece, Unigram)");
}

}  // namespace graft::tokenizers::detail
