// The Unigram model and the Precompiled normalizer on small hand-written tokenizer.json files:
// Viterbi's best segmentation and its tie rule, unknown characters fused into one unk or spelled as
// bytes with byte_fallback, and SentencePiece's normalization. The reference comparison on the
// corpus is TokenizerGolden.Unigram*.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "graft/tokenizers/tokenizer.hpp"

namespace {

using graft::tokenizers::Tokenizer;
using graft::tokenizers::TokenizerError;
using nlohmann::json;
using Offsets = std::vector<std::pair<std::size_t, std::size_t>>;
using Strings = std::vector<std::string>;

// Metaspace ('▁' for spaces and first) then Unigram over `vocab` ([piece, score]), <unk> id 0.
using Pieces = std::vector<std::pair<std::string, double>>;

Tokenizer unigram(const Pieces& vocab, bool byte_fallback = false, bool with_unk = true) {
    json pieces = json::array();
    if (with_unk) pieces.push_back(json::array({"<unk>", 0.0}));
    for (const auto& [piece, score] : vocab) pieces.push_back(json::array({piece, score}));
    json model = {{"type", "Unigram"}, {"vocab", pieces}, {"byte_fallback", byte_fallback}};
    if (with_unk) model["unk_id"] = 0;
    const json j = {{"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}}},
                    {"model", model},
                    {"decoder", {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}}}};
    return Tokenizer::from_json(j.dump(), "unigram.json");
}

TEST(TokenizerUnigram, ViterbiTakesTheHighestScoringSegmentation) {
    // "▁ab": ▁ab = -5, ▁ + a + b = -5, ▁ + ab = -4.5 (best).
    const Tokenizer tok = unigram({{"\xE2\x96\x81", -1.0}, {"a", -2.0}, {"b", -2.0}, {"ab", -3.5}, {"\xE2\x96\x81" "ab", -5.0}});
    const auto enc = tok.encode("ab");
    EXPECT_EQ(enc.tokens, (Strings{"\xE2\x96\x81", "ab"}));
    EXPECT_EQ(enc.ids, (std::vector<std::int64_t>{1, 4}));
    EXPECT_EQ(enc.offsets, (Offsets{{0, 1}, {0, 2}}));  // '▁' stands for the first character
    EXPECT_EQ(tok.decode(enc.ids), "ab");
    // Spaces become '▁' and start pieces: "ab ab" → ▁ ab ▁ ab.
    EXPECT_EQ(tok.encode("ab ab").tokens, (Strings{"\xE2\x96\x81", "ab", "\xE2\x96\x81", "ab"}));
}

TEST(TokenizerUnigram, EqualSumsKeepThePieceThatStartsFirst) {
    // ▁ + ab = -4 = ▁a + b: the reference keeps "ab", which starts before "b".
    const Tokenizer tok = unigram({{"\xE2\x96\x81", -1.0}, {"ab", -3.0}, {"\xE2\x96\x81" "a", -2.0}, {"b", -2.0}});
    EXPECT_EQ(tok.encode("ab").tokens, (Strings{"\xE2\x96\x81", "ab"}));
}

TEST(TokenizerUnigram, UnknownCharactersFuseIntoOneUnkOrBecomeBytes) {
    // ☃ is E2 98 83, bytes 1..4 and 4..7 of "a☃☃b".
    const Pieces vocab = {{"\xE2\x96\x81", -1.0}, {"a", -2.0}, {"b", -2.0}};
    const auto enc = unigram(vocab).encode("a\xE2\x98\x83\xE2\x98\x83" "b");
    EXPECT_EQ(enc.tokens, (Strings{"\xE2\x96\x81", "a", "<unk>", "b"}));
    EXPECT_EQ(enc.offsets, (Offsets{{0, 1}, {0, 1}, {1, 7}, {7, 8}}));

    Pieces with_bytes = vocab;
    for (const char* b : {"<0xE2>", "<0x98>", "<0x83>"}) with_bytes.emplace_back(b, -5.0);
    const auto bytes = unigram(with_bytes, true).encode("a\xE2\x98\x83");
    EXPECT_EQ(bytes.tokens, (Strings{"\xE2\x96\x81", "a", "<0xE2>", "<0x98>", "<0x83>"}));
    EXPECT_EQ(bytes.offsets, (Offsets{{0, 1}, {0, 1}, {1, 4}, {1, 4}, {1, 4}}));
    // A byte missing from the vocabulary: the character is <unk> after all.
    EXPECT_EQ(unigram(vocab, true).encode("a\xE2\x98\x83").tokens, (Strings{"\xE2\x96\x81", "a", "<unk>"}));
}

TEST(TokenizerUnigram, BadVocabularyOrNoUnkIsAnErrorNamingIt) {
    try {
        unigram({{"\xE2\x96\x81", -1.0}, {"a", -2.0}}, false, false).encode("ab");
        FAIL() << "expected TokenizerError";
    } catch (const TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("Unigram: the character at bytes 1..2 matches no piece and the model has no unk_id"),
                  std::string::npos) << e.what();
    }
    json j = {{"model", {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", json::array({json::array({"a", "high"})})}}}};
    try {
        Tokenizer::from_json(j.dump(), "unigram.json");
        FAIL() << "expected TokenizerError";
    } catch (const TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("unigram.json: model.vocab[0]: expected [piece, score]"), std::string::npos) << e.what();
    }
    j["model"]["vocab"] = json::array({json::array({"a", -1.0})});
    j["model"]["unk_id"] = 5;
    EXPECT_THROW(Tokenizer::from_json(j.dump()), TokenizerError);
}

TEST(TokenizerUnigram, PrecompiledDropsControlsSpacesSeparatorsAndAppliesNfkcAroundFullwidthTilde) {
    // Ａｂ NBSP c BEL ～ ｄ: bytes 0..3 3..6 6..8 8..9 9..10 10..13 13..16.
    const json j = {{"normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", ""}}},
                    {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
                    {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                               {"vocab", {{"[UNK]", 0}, {"Ab", 1}, {"c\xEF\xBD\x9E" "d", 2}}}}}};
    const auto enc = Tokenizer::from_json(j.dump()).encode("\xEF\xBC\xA1\xEF\xBD\x82\xC2\xA0" "c\x07\xEF\xBD\x9E\xEF\xBD\x84");
    EXPECT_EQ(enc.tokens, (Strings{"Ab", "c\xEF\xBD\x9E" "d"}));
    EXPECT_EQ(enc.offsets, (Offsets{{0, 6}, {8, 16}}));
}

}  // namespace
