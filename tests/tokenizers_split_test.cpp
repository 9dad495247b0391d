// The Split, Punctuation and Digits pre-tokenizers on small hand-written tokenizer.json files: the
// five behaviours and invert (Hugging Face's examples), the literal and regex patterns, and the
// errors of a pattern that does not compile. The real Llama-3 / Qwen2 / GPT-2 patterns are checked
// against the reference in tokenizers_golden_test.cpp.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "graft/tokenizers/tokenizer.hpp"

namespace {

using graft::tokenizers::Tokenizer;
using graft::tokenizers::TokenizerError;
using nlohmann::json;
using Offsets = std::vector<std::pair<std::size_t, std::size_t>>;

// WordPiece over whole pieces: each pre-tokenizer piece in `pieces` is one token, anything else [UNK].
Tokenizer pieces_tokenizer(const json& pre_tokenizer, const std::vector<std::string>& pieces) {
    json vocab = {{"[UNK]", 0}};
    for (const auto& p : pieces)
        if (!vocab.contains(p)) vocab[p] = static_cast<int>(vocab.size());
    const json j = {{"pre_tokenizer", pre_tokenizer},
                    {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                               {"max_input_chars_per_word", 100}, {"vocab", vocab}}}};
    return Tokenizer::from_json(j.dump(), "split.json");
}

std::vector<std::string> pieces_of(const json& pre_tokenizer, const std::string& text, const std::vector<std::string>& expected) {
    return pieces_tokenizer(pre_tokenizer, expected).encode(text).tokens;
}

json split(const json& pattern, const char* behavior, bool invert = false) {
    return {{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", invert}};
}

TEST(TokenizerSplit, BehavioursOnALiteralAsHuggingFaceDefinesThem) {
    const json dash = {{"String", "-"}};
    const std::string text = "the-final--countdown";
    const std::vector<std::pair<const char*, std::vector<std::string>>> cases = {
        {"Removed", {"the", "final", "countdown"}},
        {"Isolated", {"the", "-", "final", "-", "-", "countdown"}},
        {"MergedWithPrevious", {"the-", "final-", "-", "countdown"}},
        {"MergedWithNext", {"the", "-final", "-", "-countdown"}},
        {"Contiguous", {"the", "-", "final", "--", "countdown"}},
    };
    for (const auto& [behavior, expected] : cases)
        EXPECT_EQ(pieces_of(split(dash, behavior), text, expected), expected) << behavior;
}

TEST(TokenizerSplit, RegexWithInvertKeepsTheMatchesAndOffsetsFollowThem) {
    const json digits = split({{"Regex", "\\d+"}}, "Removed", true);
    const auto enc = pieces_tokenizer(digits, {"12", "345"}).encode("ab12cd345e");
    EXPECT_EQ(enc.tokens, (std::vector<std::string>{"12", "345"}));
    EXPECT_EQ(enc.offsets, (Offsets{{2, 4}, {6, 9}}));
    EXPECT_EQ(pieces_of(split({{"Regex", "\\d+"}}, "Isolated"), "ab12cd", {"ab", "12", "cd"}),
              (std::vector<std::string>{"ab", "12", "cd"}));
}

TEST(TokenizerSplit, RegexHasTheReferenceSemanticsOnIcu) {
    // \s is \p{White_Space} (U+0085 included, U+FEFF not), "." stops at \n only, (?i:…) folds ASCII.
    EXPECT_EQ(pieces_of(split({{"Regex", "\\s"}}, "Removed"), "a\xC2\x85" "b\xEF\xBB\xBF" "c", {"a", "b\xEF\xBB\xBF" "c"}),
              (std::vector<std::string>{"a", "b\xEF\xBB\xBF" "c"}));
    EXPECT_EQ(pieces_of(split({{"Regex", "a."}}, "Removed"), "xa\rya\nz", {"x", "ya\nz"}),
              (std::vector<std::string>{"x", "ya\nz"}));
    EXPECT_EQ(pieces_of(split({{"Regex", "(?i:ab)c"}}, "Removed"), "1ABc2aBC3abc", {"1", "2aBC3"}),
              (std::vector<std::string>{"1", "2aBC3"}));
    // Characters outside the BMP count as one code point each for offsets.
    const auto enc = pieces_tokenizer(split({{"Regex", "\\p{So}"}}, "Isolated"), {"x", "\xF0\x9F\x98\x80", "y"}).encode("x\xF0\x9F\x98\x80y");
    EXPECT_EQ(enc.offsets, (Offsets{{0, 1}, {1, 5}, {5, 6}}));
}

TEST(TokenizerSplit, PunctuationIsolatesEachMarkAndDigitsSplitsNumbers) {
    EXPECT_EQ(pieces_of({{"type", "Punctuation"}}, "hi!!, there", {"hi", "!", ",", " there"}),
              (std::vector<std::string>{"hi", "!", "!", ",", " there"}));
    EXPECT_EQ(pieces_of({{"type", "Punctuation"}, {"behavior", "Contiguous"}}, "hi!!, there", {"hi", "!!,", " there"}),
              (std::vector<std::string>{"hi", "!!,", " there"}));
    EXPECT_EQ(pieces_of({{"type", "Digits"}, {"individual_digits", false}}, "abc123de4", {"abc", "123", "de", "4"}),
              (std::vector<std::string>{"abc", "123", "de", "4"}));
    EXPECT_EQ(pieces_of({{"type", "Digits"}, {"individual_digits", true}}, "abc123de4", {"abc", "1", "2", "3", "de", "4"}),
              (std::vector<std::string>{"abc", "1", "2", "3", "de", "4"}));
}

TEST(TokenizerSplit, BadPatternOrBehaviourIsAnErrorNamingThePath) {
    try {
        pieces_tokenizer(split({{"Regex", "(ab"}}, "Isolated"), {});
        FAIL() << "expected TokenizerError";
    } catch (const TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("split.json: pre_tokenizer.pattern.Regex: the regex \"(ab\" does not compile"),
                  std::string::npos) << e.what();
    }
    try {
        pieces_tokenizer(split({{"String", "-"}}, "Sideways"), {});
        FAIL() << "expected TokenizerError";
    } catch (const TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("pre_tokenizer.behavior: expected Removed, Isolated"), std::string::npos) << e.what();
    }
    EXPECT_THROW(pieces_tokenizer(split({{"Glob", "*"}}, "Isolated"), {}), TokenizerError);
}

}  // namespace
