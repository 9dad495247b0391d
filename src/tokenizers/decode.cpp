// Decoding: ids to token strings, through the decoder, to text.
#include <algorithm>

#include "tokenizers/tokenizer_impl.hpp"

namespace graft::tokenizers {

std::string TokenizerImpl::decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const {
    const auto& vocab = model->vocab().tokens;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::int64_t id = ids[i];
        if (id < 0 || static_cast<std::size_t>(id) >= vocab.size() || vocab[static_cast<std::size_t>(id)].empty())
            throw TokenizerError("decode: ids[" + std::to_string(i) + "] = " + std::to_string(id) +
                                 " is not in the vocabulary (" + std::to_string(vocab.size()) + " ids)");
        const std::string& token = vocab[static_cast<std::size_t>(id)];
        if (skip_special_tokens && std::find(special_tokens.begin(), special_tokens.end(), token) != special_tokens.end()) continue;
        tokens.push_back(token);
    }
    std::string text;
    if (decoder) {
        for (const std::string& piece : decoder->decode_chain(std::move(tokens))) text += piece;
    } else {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i) text += ' ';
            text += tokens[i];
        }
    }
    const std::string suffix = model->end_of_word_suffix();
    if (decoder && !suffix.empty()) {
        std::string replaced;
        std::size_t pos = 0;
        for (std::size_t hit; (hit = text.find(suffix, pos)) != std::string::npos; pos = hit + suffix.size())
            replaced.append(text, pos, hit - pos) += " ";
        replaced.append(text, pos, std::string::npos);
        text = std::move(replaced);
        if (skip_special_tokens) {
            const auto b = text.find_first_not_of(" \t\n\r\f\v"), e = text.find_last_not_of(" \t\n\r\f\v");
            text = b == std::string::npos ? std::string() : text.substr(b, e - b + 1);
        }
    }
    return text;
}

std::string Tokenizer::decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const {
    return impl_->decode(ids, skip_special_tokens);
}

}  // namespace graft::tokenizers
