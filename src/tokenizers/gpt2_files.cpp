// GPT-2's original files: encoder.json (token → id) and vocab.bpe (a version line, then one
// merge "left right" per line, best first), turned into the tokenizer.json they stand for.
#include <sstream>

#include "io/read_text.hpp"
#include "tokenizers/json_fields.hpp"
#include "tokenizers/tokenizer_impl.hpp"

namespace graft::tokenizers {

using detail::json;

Tokenizer Tokenizer::from_gpt2_files(const std::filesystem::path& encoder_json, const std::filesystem::path& vocab_bpe) {
    json vocab;
    try {
        vocab = json::parse(io::detail::read_text_file(encoder_json, "Tokenizer::from_gpt2_files"));
    } catch (const json::parse_error& e) {
        throw TokenizerError("Tokenizer::from_gpt2_files: " + encoder_json.string() + ": not valid JSON: " + e.what());
    }
    if (!vocab.is_object())
        throw TokenizerError("Tokenizer::from_gpt2_files: " + encoder_json.string() + ": expected an object {token: id}");
    json merges = json::array();
    std::istringstream lines(io::detail::read_text_file(vocab_bpe, "Tokenizer::from_gpt2_files"));
    std::string line;
    for (std::size_t number = 1; std::getline(lines, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) continue;
        const auto space = line.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 == line.size() || line.find(' ', space + 1) != std::string::npos)
            throw TokenizerError("Tokenizer::from_gpt2_files: " + vocab_bpe.string() + ": line " + std::to_string(number) +
                                 " is not \"left right\": \"" + line + "\"");
        merges.push_back(line);
    }
    json added = json::array();
    if (vocab.contains("<|endoftext|>"))
        added.push_back({{"id", vocab["<|endoftext|>"]}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
    const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    const json j = {{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", added},
                    {"normalizer", nullptr},
                    {"pre_tokenizer", byte_level},
                    {"model",
                     {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                      {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab}, {"merges", merges}}},
                    {"post_processor", byte_level},
                    {"decoder", byte_level}};
    return Tokenizer(std::make_shared<const TokenizerImpl>(j, encoder_json.string()));
}

}  // namespace graft::tokenizers
