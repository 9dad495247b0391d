// Training vocabularies (graft/tokenizers/train.hpp): what the trainers learn, that the result
// round-trips through tokenizer.json, and that the WordPiece and byte-fallback files the goldens
// use (tests/golden/tokenizers/{bert,llama}.json, loaded there by the JS reference) are exactly
// what graft's trainers write for the committed corpus.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "graft/tokenizers/train.hpp"
#include "io/read_text.hpp"

namespace {

using namespace graft::tokenizers;
using nlohmann::json;

const std::filesystem::path kDir = std::filesystem::path(GRAFT_TEST_DATA_DIR) / "tokenizers";

const std::vector<std::string> kSmall = {"the cat sat on the mat", "the cat ate the rat", "a hat for the cat", "that cat!"};

TEST(TokenizerTrain, BpeMergesTheMostFrequentPairsAndDecodesBack) {
    const Tokenizer tok = train_bpe(kSmall, {.vocab_size = 256 + 1 + 6, .min_frequency = 2, .special_tokens = {"<|endoftext|>"}});
    EXPECT_EQ(tok.vocab_size(), 263u);
    EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 0);
    // "Ġc" "Ġca" … the most frequent pairs first: " t"/"th"/"at" occur most.
    const auto enc = tok.encode("the cat<|endoftext|>");
    EXPECT_LT(enc.ids.size(), std::string("the cat").size() + 1);
    EXPECT_EQ(enc.ids.back(), 0);
    EXPECT_EQ(tok.decode(enc.ids), "the cat<|endoftext|>");
    EXPECT_EQ(tok.decode(tok.encode("unseen ünïcödé 😀").ids), "unseen ünïcödé 😀");  // every byte is in the alphabet
    const Tokenizer again = Tokenizer::from_json(tok.to_json());
    EXPECT_EQ(again.encode("the cat sat").ids, tok.encode("the cat sat").ids);
}

TEST(TokenizerTrain, WordPieceLearnsWholeWordsWithContinuations) {
    const Tokenizer tok = train_wordpiece(kSmall, {.vocab_size = 60, .min_frequency = 2,
                                                   .special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}});
    const auto enc = tok.encode("The CAT sat");
    EXPECT_EQ(enc.tokens.front(), "[CLS]");
    EXPECT_EQ(enc.tokens.back(), "[SEP]");
    EXPECT_EQ(enc.tokens[1], "the");
    EXPECT_EQ(enc.tokens[2], "cat");
    EXPECT_EQ(tok.encode("zebra", false).tokens, std::vector<std::string>{"[UNK]"});  // 'z' was never seen
    EXPECT_EQ(tok.decode(enc.ids, true), "the cat sat");
}

TEST(TokenizerTrain, ByteFallbackSpellsRareCharactersAsBytes) {
    const Tokenizer tok = train_byte_fallback_bpe(kSmall, {.vocab_size = 400, .min_frequency = 2, .special_tokens = {"<unk>", "<s>", "</s>"}});
    const auto enc = tok.encode("the cat é");
    EXPECT_EQ(enc.tokens.front(), "<s>");
    EXPECT_EQ(std::vector<std::string>(enc.tokens.end() - 2, enc.tokens.end()), (std::vector<std::string>{"<0xC3>", "<0xA9>"}));
    EXPECT_EQ(tok.decode(enc.ids, true), "the cat é");
}

TEST(TokenizerTrain, VocabularyTooSmallIsAnError) {
    EXPECT_THROW(train_bpe(kSmall, {.vocab_size = 100}), TokenizerError);
    EXPECT_THROW(train_wordpiece(kSmall, {.vocab_size = 10, .special_tokens = {"[UNK]", "[UNK]"}}), TokenizerError);
}

std::vector<std::string> corpus() {
    return json::parse(graft::io::detail::read_text_file(kDir / "corpus.json.gz", "test")).get<std::vector<std::string>>();
}

const std::vector<std::pair<const char*, Tokenizer (*)()>> kGoldenTrainings = {
    {"bert.json", [] { return train_wordpiece(corpus(), {.vocab_size = 2000, .min_frequency = 2,
                                                         .special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}}); }},
    {"llama.json", [] { return train_byte_fallback_bpe(corpus(), {.vocab_size = 1500, .min_frequency = 3,
                                                                  .special_tokens = {"<unk>", "<s>", "</s>"}}); }},
};

// With GRAFT_WRITE_TRAINED_TOKENIZERS=1 the files are (re)written instead: run that, then the
// golden script (docs/text.md).
TEST(TokenizerTrain, GoldenTokenizerFilesAreWhatGraftTrains) {
    const bool write = std::getenv("GRAFT_WRITE_TRAINED_TOKENIZERS") != nullptr;
    for (const auto& [name, train] : kGoldenTrainings) {
        const Tokenizer tok = train();
        if (write) {
            tok.save(kDir / name);
            continue;
        }
        const json committed = json::parse(graft::io::detail::read_text_file(kDir / name, "test"));
        EXPECT_TRUE(json::parse(tok.to_json()) == committed) << name << " differs from what graft's trainer writes now";
    }
}

}  // namespace
