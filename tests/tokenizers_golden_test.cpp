// graft::tokenizers against the reference (the JS port of Hugging Face's tokenizers, and
// gpt-3-encoder for GPT-2): ids, offsets and decoded text of every text of the corpus, written by
// tests/golden/make_tokenizer_golden.mjs into tests/golden/tokenizers/golden.json.gz.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "graft/tokenizers/tokenizer.hpp"
#include "io/read_text.hpp"
#include "tokenizers/tokenizer_impl.hpp"

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
    int checked = 0;
    for (const json& entry : read_json_gz("golden.json.gz")["long"]) {
        if (!entry.contains(name)) continue;  // the reference failed on this text (the script says why)
        ++checked;
        std::string text;
        const std::string unit = entry["unit"].get<std::string>();
        for (int k = 0; k < entry["count"].get<int>(); ++k) text += unit;
        const auto enc = tok.encode(text, add_special_tokens);
        EXPECT_EQ(enc.ids.size(), entry[name]["count"].get<std::size_t>()) << name << ": " << show(unit) << " × " << entry["count"];
        EXPECT_EQ(hex16(fnv1a(enc.ids)), entry[name]["fnv1a"].get<std::string>()) << name << ": " << show(unit) << " × " << entry["count"];
    }
    EXPECT_GE(checked, 3) << name << ": too few long texts with goldens";
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

// The trained bert.json takes the ASCII path on ASCII texts (most of the corpus); the same
// tokenizer forced onto the general path (a Sequence around its pre-tokenizer) gives the same
// offsets, which the golden does not hold for BERT.
TEST(TokenizerGolden, WordPieceAsciiPathOffsetsAreTheGeneralPaths) {
    json j = json::parse(graft::io::detail::read_text_file(kDir / "bert.json", "test"));
    j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {j["pre_tokenizer"]}}};
    const Tokenizer general = Tokenizer::from_json(j.dump(), "general.json");
    ASSERT_TRUE(trained("bert.json").impl().has_ascii_path());
    ASSERT_FALSE(general.impl().has_ascii_path());
    for (const json& t : read_json_gz("corpus.json.gz")) {
        const std::string text = t.get<std::string>();
        const auto want = general.encode(text), got = trained("bert.json").encode(text);
        EXPECT_EQ(got.ids, want.ids) << show(text);
        EXPECT_EQ(got.offsets, want.offsets) << show(text);
    }
}

// BPE with byte fallback, '▁' prepended and for spaces, <s> first: ids, offsets, decoded text.
TEST(TokenizerGolden, ByteFallbackBpeMatchesReferenceOnCorpus) { check_corpus(trained("llama.json"), "llama", true, true, true); }

TEST(TokenizerGolden, ByteFallbackBpeMatchesReferenceOnLongTexts) { check_long_texts(trained("llama.json"), "llama", true); }

// Unigram, T5-style (Precompiled normalizer, WhitespaceSplit + Metaspace, "</s>" appended), its
// vocabulary and scores built by the script from the corpus: ids, decoded text, and offsets where
// the normalizer leaves the text as it is.
TEST(TokenizerGolden, UnigramMatchesReferenceOnCorpus) { check_corpus(trained("unigram.json"), "unigram", true, true, true); }

TEST(TokenizerGolden, UnigramMatchesReferenceOnLongTexts) { check_long_texts(trained("unigram.json"), "unigram", true); }

TEST(TokenizerGolden, Gpt2MatchesReferenceOnLongTexts) { check_long_texts(gpt2(), "gpt2", false); }

TEST(TokenizerGolden, Gpt2DecodeRestoresEveryText) {
    for (const json& t : read_json_gz("corpus.json.gz")) {
        const std::string text = t.get<std::string>();
        EXPECT_EQ(gpt2().decode(gpt2().encode(text).ids), text) << show(text);
    }
}

}  // namespace

// Llama-3- and Qwen2-style tokenizer.json files (tests/golden/tokenizers/*_split.json: a Split with
// the model's real regex, ByteLevel without its own, Llama-3's <|begin_of_text|>, Qwen2's NFC) on
// GPT-2's vocabulary and merges, as make_tokenizer_golden.mjs builds them. `wrap` puts the regex
// in a group: the same pattern, no longer spelled as a known one, so it runs on ICU.
json split_tokenizer_json(const std::string& name, bool wrap) {
    json j = json::parse(graft::io::detail::read_text_file(kDir / (name + "_split.json"), "test"));
    j["model"]["vocab"] = read_json_gz("gpt2_encoder.json.gz");
    const std::string bpe = graft::io::detail::read_text_file(kDir / "gpt2_vocab.bpe.gz", "test");
    json merges = json::array();
    std::size_t line = 0;
    for (std::size_t begin = 0; begin < bpe.size(); ++line) {
        std::size_t end = bpe.find('\n', begin);
        if (end == std::string::npos) end = bpe.size();
        if (line > 0 && end > begin) merges.push_back(bpe.substr(begin, end - begin));
        begin = end + 1;
    }
    j["model"]["merges"] = std::move(merges);
    json& regex = j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"];
    if (wrap) regex = "(?:" + regex.get<std::string>() + ")";
    return j;
}

const Tokenizer& split_tokenizer(const std::string& name, bool icu) {
    static std::map<std::pair<std::string, bool>, Tokenizer> cache;
    auto it = cache.find({name, icu});
    if (it == cache.end())
        it = cache.emplace(std::make_pair(name, icu), Tokenizer::from_json(split_tokenizer_json(name, icu).dump(), name + "_split.json")).first;
    return it->second;
}

TEST(TokenizerGolden, Llama3SplitMatchesReferenceOnCorpus) { check_corpus(split_tokenizer("llama3", false), "llama3", true, true, true); }
TEST(TokenizerGolden, Llama3SplitMatchesReferenceOnLongTexts) { check_long_texts(split_tokenizer("llama3", false), "llama3", true); }
TEST(TokenizerGolden, Qwen2SplitMatchesReferenceOnCorpus) { check_corpus(split_tokenizer("qwen2", false), "qwen2", true, true, true); }
TEST(TokenizerGolden, Qwen2SplitMatchesReferenceOnLongTexts) { check_long_texts(split_tokenizer("qwen2", false), "qwen2", true); }

// The same patterns on ICU's engine match the reference too, so both paths split identically.
TEST(TokenizerGolden, Llama3SplitOnIcuMatchesReferenceOnCorpus) { check_corpus(split_tokenizer("llama3", true), "llama3", true, true, true); }
TEST(TokenizerGolden, Qwen2SplitOnIcuMatchesReferenceOnCorpus) { check_corpus(split_tokenizer("qwen2", true), "qwen2", true, true, true); }

// GPT-2's regex as a Split (\s being \p{White_Space} there): the hand-written matcher and ICU
// give the same ids and offsets on every corpus text.
TEST(TokenizerGolden, Gpt2SplitPatternHandWrittenAndIcuAgreeOnCorpus) {
    auto gpt2_split = [](bool wrap) {
        json j = split_tokenizer_json("qwen2", false);
        j["normalizer"] = nullptr;
        const std::string pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
        j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = wrap ? "(?:" + pattern + ")" : pattern;
        return Tokenizer::from_json(j.dump(), "gpt2_split.json");
    };
    const Tokenizer fast = gpt2_split(false), icu = gpt2_split(true);
    int failures = 0;
    for (const json& text : read_json_gz("corpus.json.gz")) {
        const auto a = fast.encode(text.get<std::string>()), b = icu.encode(text.get<std::string>());
        if (a.ids != b.ids || a.offsets != b.offsets) {
            ADD_FAILURE() << show(text.get<std::string>()) << ": hand-written " << json(a.ids).dump() << ", ICU " << json(b.ids).dump();
            if (++failures == 5) break;
        }
    }
}
