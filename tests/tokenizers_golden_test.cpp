// graft::tokenizers against the reference (the JS port of Hugging Face's tokenizers, and
// gpt-3-encoder for GPT-2): ids, offsets and decoded text of every text of the corpus, written by
// tests/golden/make_tokenizer_golden.mjs into tests/golden/tokenizers/golden.json.gz.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "graft/tokenizers/tokenizer.hpp"
#include "io/read_text.hpp"

namespace {

using graft::tokenizers::Tokenizer;
using nlohmann::json;

const std::filesystem::path kDir = std::filesystem::path(GRAFT_TEST_DATA_DIR) / "tokenizers";

const json& read_json_gz(const char* name) {
    static std::map<std::string, json> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, json::parse(graft::io::detail::read_text_file(kDir / name, "test"))).first;
    return it->second;
}

const Tokenizer& gpt2() {
    static const Tokenizer tok = Tokenizer::from_gpt2_files(kDir / "gpt2_encoder.json.gz", kDir / "gpt2_vocab.bpe.gz");
    return tok;
}

std::string show(const std::string& text) { return json(text.substr(0, 120)).dump(); }

std::uint64_t fnv1a(const std::vector<std::int64_t>& ids) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::int64_t id : ids) {
        h ^= static_cast<std::uint64_t>(id);
        h *= 0x100000001b3ull;
    }
    return h;
}

std::string hex16(std::uint64_t h) {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(h));
    return buffer;
}

// Every corpus text through `tok`, compared with the golden entry `name`.
void check_corpus(const Tokenizer& tok, const char* name, bool add_special_tokens, bool skip_special_in_decode, bool offsets_expected) {
    const json& corpus = read_json_gz("corpus.json.gz");
    const json& cases = read_json_gz("golden.json.gz")["cases"];
    ASSERT_EQ(corpus.size(), cases.size());
    int failures = 0, with_offsets = 0;
    for (std::size_t i = 0; i < corpus.size() && failures < 10; ++i) {
        const std::string text = corpus[i].get<std::string>();
        ASSERT_TRUE(cases[i].contains(name)) << "golden has no " << name << " entries: rerun make_tokenizer_golden.mjs";
        const json& want = cases[i][name];
        const auto enc = tok.encode(text, add_special_tokens);
        const auto ids = want["ids"].get<std::vector<std::int64_t>>();
        if (enc.ids != ids) {
            ++failures;
            ADD_FAILURE() << name << " text " << i << " " << show(text) << ": ids differ\n  graft:     " << json(enc.ids).dump()
                          << "\n  reference: " << json(ids).dump();
            continue;
        }
        if (want.contains("offsets")) {
            ++with_offsets;
            const auto offsets = want["offsets"].get<std::vector<std::pair<std::size_t, std::size_t>>>();
            if (enc.offsets != offsets) {
                ++failures;
                ADD_FAILURE() << name << " text " << i << " " << show(text) << ": offsets differ\n  graft:     "
                              << json(enc.offsets).dump() << "\n  reference: " << json(offsets).dump();
            }
        }
        if (!ids.empty()) {
            const std::string decoded = tok.decode(enc.ids, skip_special_in_decode);
            if (decoded != want["decoded"].get<std::string>()) {
                ++failures;
                ADD_FAILURE() << name << " text " << i << " " << show(text) << ": decode gives " << show(decoded)
                              << ", reference " << show(want["decoded"].get<std::string>());
            }
        }
    }
    if (offsets_expected) {
        EXPECT_GT(with_offsets, static_cast<int>(corpus.size()) / 2) << name << ": too few texts with golden offsets";
    }
}

void check_long_texts(const Tokenizer& tok, const char* name, bool add_special_tokens) {
    for (const json& entry : read_json_gz("golden.json.gz")["long"]) {
        std::string text;
        const std::string unit = entry["unit"].get<std::string>();
        for (int k = 0; k < entry["count"].get<int>(); ++k) text += unit;
        const auto enc = tok.encode(text, add_special_tokens);
        EXPECT_EQ(enc.ids.size(), entry[name]["count"].get<std::size_t>()) << name << ": " << show(unit) << " × " << entry["count"];
        EXPECT_EQ(hex16(fnv1a(enc.ids)), entry[name]["fnv1a"].get<std::string>()) << name << ": " << show(unit) << " × " << entry["count"];
    }
}

const Tokenizer& trained(const char* name) {
    static std::map<std::string, Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, Tokenizer::from_file(kDir / name)).first;
    return it->second;
}

TEST(TokenizerGolden, Gpt2MatchesReferenceOnCorpus) { check_corpus(gpt2(), "gpt2", false, false, true); }

// WordPiece with BERT's normalizer and pre-tokenizer, [CLS] … [SEP]: ids and decoded text (the
// normalizer rewrites the text, so the tokens do not spell it and the script derives no offsets;
// Tokenizer.BertPipeline* checks them).
TEST(TokenizerGolden, WordPieceMatchesReferenceOnCorpus) { check_corpus(trained("bert.json"), "bert", true, true, false); }

TEST(TokenizerGolden, WordPieceMatchesReferenceOnLongTexts) { check_long_texts(trained("bert.json"), "bert", true); }

// BPE with byte fallback, '▁' prepended and for spaces, <s> first: ids, offsets, decoded text.
TEST(TokenizerGolden, ByteFallbackBpeMatchesReferenceOnCorpus) { check_corpus(trained("llama.json"), "llama", true, true, true); }

TEST(TokenizerGolden, ByteFallbackBpeMatchesReferenceOnLongTexts) { check_long_texts(trained("llama.json"), "llama", true); }

TEST(TokenizerGolden, Gpt2MatchesReferenceOnLongTexts) { check_long_texts(gpt2(), "gpt2", false); }

TEST(TokenizerGolden, Gpt2DecodeRestoresEveryText) {
    for (const json& t : read_json_gz("corpus.json.gz")) {
        const std::string text = t.get<std::string>();
        EXPECT_EQ(gpt2().decode(gpt2().encode(text).ids), text) << show(text);
    }
}

}  // namespace
