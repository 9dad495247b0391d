// graft::tokenizers on small hand-written tokenizer.json files: BERT's WordPiece pipeline, a
// Llama-style byte-fallback BPE, batch encoding, and the errors (unknown component types, text
// that is not UTF-8, ids outside the vocabulary).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "graft/tokenizers/tokenizer.hpp"
#include "tokenizers/tokenizer_impl.hpp"

namespace {

using graft::tokenizers::BatchOptions;
using graft::tokenizers::Padding;
using graft::tokenizers::Tokenizer;
using graft::tokenizers::TokenizerError;
using nlohmann::json;
using Offsets = std::vector<std::pair<std::size_t, std::size_t>>;

json added(int id, const std::string& content) {
    return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
            {"normalized", false}, {"special", true}};
}

json bert_json() {
    json vocab = {{"[PAD]", 0}, {"[UNK]", 1}, {"[CLS]", 2}, {"[SEP]", 3}, {"hello", 4}, {",", 5}, {"world", 6},
                  {"!", 7},     {"un", 8},    {"##aff", 9}, {"##able", 10}, {"中", 11}, {"文", 12}, {"[MASK]", 13}};
    auto special = [](const char* id, int type) { return json{{"SpecialToken", {{"id", id}, {"type_id", type}}}}; };
    auto seq = [](const char* id, int type) { return json{{"Sequence", {{"id", id}, {"type_id", type}}}}; };
    return {{"added_tokens", {added(0, "[PAD]"), added(1, "[UNK]"), added(2, "[CLS]"), added(3, "[SEP]"), added(13, "[MASK]")}},
            {"normalizer", {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
                            {"strip_accents", nullptr}, {"lowercase", true}}},
            {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
            {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                       {"max_input_chars_per_word", 100}, {"vocab", vocab}}},
            {"post_processor", {{"type", "TemplateProcessing"},
                                {"single", {special("[CLS]", 0), seq("A", 0), special("[SEP]", 0)}},
                                {"pair", {special("[CLS]", 0), seq("A", 0), special("[SEP]", 0), seq("B", 1), special("[SEP]", 1)}},
                                {"special_tokens", json::object()}}},
            {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", false}}}};
}

const Tokenizer& bert() {
    static const Tokenizer tok = Tokenizer::from_json(bert_json().dump(), "bert.json");
    return tok;
}

TEST(Tokenizer, BertPipelineLowercasesStripsAccentsSplitsCjkAndAddsClsSep) {
    // bytes: H é(1,3) l l o , ␠ W O R L D ! ␠ u n a f f a b l e ␠ 中(25,28) 文(28,31)
    const auto enc = bert().encode("Héllo, WORLD! unaffable 中文");
    EXPECT_EQ(enc.tokens, (std::vector<std::string>{"[CLS]", "hello", ",", "world", "!", "un", "##aff", "##able", "中", "文", "[SEP]"}));
    EXPECT_EQ(enc.ids, (std::vector<std::int64_t>{2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3}));
    EXPECT_EQ(enc.offsets, (Offsets{{0, 0}, {0, 6}, {6, 7}, {8, 13}, {13, 14}, {15, 17}, {17, 20}, {20, 24}, {25, 28}, {28, 31}, {0, 0}}));
    EXPECT_EQ(enc.special_tokens_mask, (std::vector<std::int64_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(enc.type_ids, std::vector<std::int64_t>(11, 0));
    EXPECT_EQ(enc.attention_mask, std::vector<std::int64_t>(11, 1));
    EXPECT_EQ(bert().decode(enc.ids, true), "hello , world ! unaffable 中 文");
    EXPECT_EQ(bert().decode(enc.ids), "[CLS] hello , world ! unaffable 中 文 [SEP]");
}

TEST(Tokenizer, BertPairHasTypeIdsAndUnknownWordsBecomeUnk) {
    const auto enc = bert().encode_pair("hello xyz", "World [MASK]");
    EXPECT_EQ(enc.ids, (std::vector<std::int64_t>{2, 4, 1, 3, 6, 13, 3}));
    EXPECT_EQ(enc.type_ids, (std::vector<std::int64_t>{0, 0, 0, 0, 1, 1, 1}));
    EXPECT_EQ(enc.offsets[2], (std::pair<std::size_t, std::size_t>{6, 9}));  // "xyz" as one [UNK]
    EXPECT_EQ(enc.offsets[5], (std::pair<std::size_t, std::size_t>{6, 12}));  // [MASK] in the pair text
    EXPECT_EQ(bert().encode("hello", false).ids, (std::vector<std::int64_t>{4}));
}

json llama_json() {
    json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
    static const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) vocab[std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">"] = 3 + b;
    vocab["\xE2\x96\x81"] = 259;
    vocab["h"] = 260;
    vocab["i"] = 261;
    vocab["\xE2\x96\x81h"] = 262;
    vocab["\xE2\x96\x81hi"] = 263;
    const json replace = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}};
    return {{"added_tokens", {added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")}},
            {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, replace}}}},
            {"pre_tokenizer", nullptr},
            {"model", {{"type", "BPE"}, {"unk_token", "<unk>"}, {"fuse_unk", true}, {"byte_fallback", true}, {"vocab", vocab},
                       {"merges", {"\xE2\x96\x81 h", "\xE2\x96\x81h i"}}}},
            {"post_processor", {{"type", "TemplateProcessing"},
                                {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                                {"pair", json::array()}}},
            {"decoder", {{"type", "Sequence"},
                         {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                                       {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                       {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}}};
}

TEST(Tokenizer, ByteFallbackBpeSpellsUnknownCharactersAsBytes) {
    const Tokenizer tok = Tokenizer::from_json(llama_json().dump(), "llama.json");
    const auto enc = tok.encode("hi é");  // normalized: ▁hi▁é
    EXPECT_EQ(enc.tokens, (std::vector<std::string>{"<s>", "\xE2\x96\x81hi", "\xE2\x96\x81", "<0xC3>", "<0xA9>"}));
    EXPECT_EQ(enc.ids, (std::vector<std::int64_t>{1, 263, 259, 3 + 0xC3, 3 + 0xA9}));
    EXPECT_EQ(enc.offsets, (Offsets{{0, 0}, {0, 2}, {2, 3}, {3, 5}, {3, 5}}));
    EXPECT_EQ(tok.decode(enc.ids, true), "hi é");
    EXPECT_EQ(tok.decode({263, 3 + 0xC3}), "hi\xEF\xBF\xBD");  // a cut character decodes to U+FFFD
    EXPECT_EQ(tok.decode({263, 3 + 0xEF, 3 + 0xBB, 3 + 0xBF, 260}), "hih");  // a BOM opening a byte run is dropped
}

TEST(Tokenizer, EncodeBatchPadsAndTruncatesIntoInt64Tensors) {
    const auto batch = bert().encode_batch({"hello world", "hello"});
    ASSERT_EQ(batch.input_ids.shape(), (graft::Shape{2, 4}));
    EXPECT_EQ(batch.input_ids.dtype(), graft::DType::Int64);
    EXPECT_EQ(batch.input_ids.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 4, 6, 3, 2, 4, 3, 0}));
    EXPECT_EQ(batch.attention_mask.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 1, 1, 1, 1, 1, 1, 0}));
    EXPECT_EQ(batch.token_type_ids.to_vector<std::int64_t>(), std::vector<std::int64_t>(8, 0));

    const auto cut = bert().encode_batch({"hello world", "hello"}, {.padding = Padding::MaxLength, .max_length = 3, .truncation = true});
    EXPECT_EQ(cut.input_ids.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 4, 3, 2, 4, 3}));  // [SEP] kept

    const auto padded = bert().encode_batch({"hello"}, {.padding = Padding::MaxLength, .max_length = 5});
    EXPECT_EQ(padded.input_ids.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 4, 3, 0, 0}));
    EXPECT_EQ(padded.attention_mask.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 1, 1, 0, 0}));
}

// Padding::None: the rows, truncated, and no tensors.
TEST(Tokenizer, EncodeBatchWithoutPaddingGivesTheRowsOnly) {
    const auto batch = bert().encode_batch({"hello world !", "hello"}, {.padding = Padding::None, .max_length = 4, .truncation = true});
    EXPECT_FALSE(batch.input_ids.defined());
    EXPECT_FALSE(batch.attention_mask.defined());
    EXPECT_FALSE(batch.token_type_ids.defined());
    ASSERT_EQ(batch.encodings.size(), 2u);
    EXPECT_EQ(batch.encodings[0].ids, (std::vector<std::int64_t>{2, 4, 6, 3}));
    EXPECT_EQ(batch.encodings[1].ids, (std::vector<std::int64_t>{2, 4, 3}));
}

// Texts of very different lengths, enough for every thread: each row is what encode gives,
// padded after it.
TEST(Tokenizer, EncodeBatchOnAllThreadsGivesEveryRowAsEncodeDoes) {
    std::vector<std::string> texts;
    for (int i = 0; i < 400; ++i) {
        std::string t = "Hello, " + std::to_string(i) + " un";
        for (int k = 0; k < (i * 37) % 60; ++k) t += " unaffable world";
        if (i % 7 == 0) t += " Héllo 中文";
        texts.push_back(t);
    }
    const auto batch = bert().encode_batch(texts);
    ASSERT_EQ(batch.encodings.size(), texts.size());
    const auto width = static_cast<std::size_t>(batch.input_ids.shape()[1]);
    const auto ids = batch.input_ids.to_vector<std::int64_t>(), mask = batch.attention_mask.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto want = bert().encode(texts[i]);
        EXPECT_EQ(batch.encodings[i].ids, want.ids) << i;
        EXPECT_EQ(batch.encodings[i].offsets, want.offsets) << i;
        for (std::size_t t = 0; t < width; ++t) {
            ASSERT_EQ(ids[i * width + t], t < want.ids.size() ? want.ids[t] : 0) << i << ", " << t;
            ASSERT_EQ(mask[i * width + t], t < want.ids.size() ? 1 : 0) << i << ", " << t;
        }
    }
}

TEST(Tokenizer, EncodeBatchRejectsRowsLongerThanMaxLengthAndMissingMaxLength) {
    try {
        bert().encode_batch({"hello", "hello world !"}, {.padding = Padding::MaxLength, .max_length = 4});
        FAIL() << "expected TokenizerError";
    } catch (const TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("texts[1] has 5 tokens, more than max_length 4"), std::string::npos) << e.what();
    }
    EXPECT_THROW(bert().encode_batch({"hello"}, {.truncation = true}), TokenizerError);
    EXPECT_THROW(bert().encode_batch({"hello"}, {.max_length = 1, .truncation = true}), TokenizerError);  // no room for [CLS] [SEP]
}

TEST(Tokenizer, TextThatIsNotUtf8IsAnErrorNamingTheByte) {
    for (const std::string& bad : {std::string("ab\xFF"), std::string("a\xC3"), std::string("\xED\xA0\x80"), std::string("\xC0\xAF")}) {
        try {
            bert().encode(bad);
            FAIL() << "expected TokenizerError for " << bad.size() << " bytes";
        } catch (const TokenizerError& e) {
            EXPECT_NE(std::string(e.what()).find("not valid UTF-8: byte "), std::string::npos) << e.what();
        }
    }
    try {
        bert().encode_batch({"ok", "ok\xFE"});
        FAIL() << "expected TokenizerError";
    } catch (const TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("texts[1]"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("byte 2 (0xFE)"), std::string::npos) << e.what();
    }
}

TEST(Tokenizer, UnknownComponentTypeNamesTheTypeAndTheJsonPath) {
    json j = bert_json();
    j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Nmt"}}}}};
    try {
        Tokenizer::from_json(j.dump(), "tok.json");
        FAIL() << "expected TokenizerError";
    } catch (const TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("tok.json: normalizer.normalizers[1].type: unsupported normalizer type \"Nmt\""),
                  std::string::npos) << e.what();
    }
    j = bert_json();
    j["model"]["type"] = "WordLevel";
    EXPECT_THROW(Tokenizer::from_json(j.dump()), TokenizerError);
    j = bert_json();
    j["pre_tokenizer"] = {{"type", "Split"}};
    EXPECT_THROW(Tokenizer::from_json(j.dump()), TokenizerError);
    EXPECT_THROW(Tokenizer::from_json("{not json"), TokenizerError);
    EXPECT_THROW(Tokenizer::from_file("/nonexistent/tokenizer.json"), graft::Error);
}

TEST(Tokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
    try {
        bert().decode({2, 99});
        FAIL() << "expected TokenizerError";
    } catch (const TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("ids[1] = 99 is not in the vocabulary (14 ids)"), std::string::npos) << e.what();
    }
    EXPECT_THROW(bert().id_to_token(-1), TokenizerError);
    EXPECT_EQ(bert().id_to_token(9), "##aff");
    EXPECT_EQ(bert().token_to_id("world"), 6);
    EXPECT_EQ(bert().vocab_size(), 14u);
    EXPECT_EQ(bert().pad_id(), 0);
}

// A copy of `j` that encodes on the general path: a Sequence around the pre-tokenizer splits the
// same way but has no ASCII path.
Tokenizer general_path(json j) {
    j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {j["pre_tokenizer"]}}};
    return Tokenizer::from_json(j.dump(), "general.json");
}

// Texts whose every byte is ASCII, to compare the ASCII path with the general one.
std::vector<std::string> ascii_texts() {
    std::vector<std::string> texts = {"", "   ", "Hello, WORLD!! unaffable", "hello\tworld\r\nun\x01" "aff\x7f" "able",
                                      "\x01\x02\x1f", "[CLS] hello [MASK]world[SEP][SEP]", "  [MASK]  un  [MASK]", "Un aFF",
                                      "HELLO,,world...un-aff-able", std::string("x\vy\fz\0w", 8), std::string(150, 'a'),
                                      "un" + std::string(98, 'f') + " un" + std::string(99, 'f')};
    std::string all;
    for (int c = 0; c < 128; ++c) {
        texts.push_back("a" + std::string(1, static_cast<char>(c)) + "b hello" + std::string(1, static_cast<char>(c)));
        all += static_cast<char>(c);
    }
    texts.push_back(all);
    return texts;
}

// Normalizers that map ASCII characters one by one (BERT's with its options, Lowercase, NFx,
// StripAccents, Precompiled, none), added tokens raw and normalized with lstrip/rstrip: encode
// and encode_pair give the same ids, tokens and offsets on the ASCII path as on the general one.
TEST(Tokenizer, AsciiPathGivesWhatTheGeneralPathGives) {
    std::vector<json> variants;
    variants.push_back(bert_json());
    json j = bert_json();
    j["normalizer"]["clean_text"] = false;
    j["normalizer"]["lowercase"] = false;
    variants.push_back(j);
    j = bert_json();
    j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFD"}}, {{"type", "Lowercase"}}, {{"type", "StripAccents"}}}}};
    variants.push_back(j);
    j = bert_json();
    j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", nullptr}};
    variants.push_back(j);
    j = bert_json();
    j["normalizer"] = nullptr;
    variants.push_back(j);
    j = bert_json();
    j["added_tokens"][4]["lstrip"] = true;  // [MASK]
    j["added_tokens"][4]["rstrip"] = true;
    j["added_tokens"].push_back({{"id", 14}, {"content", "UN"}, {"lstrip", false}, {"rstrip", true}, {"normalized", true},
                                 {"special", false}});
    variants.push_back(j);
    for (std::size_t v = 0; v < variants.size(); ++v) {
        const Tokenizer fast = Tokenizer::from_json(variants[v].dump(), "fast.json");
        const Tokenizer general = general_path(variants[v]);
        ASSERT_TRUE(fast.impl().has_ascii_path()) << "variant " << v;
        ASSERT_FALSE(general.impl().has_ascii_path()) << "variant " << v;
        for (const std::string& text : ascii_texts()) {
            const auto want = general.encode(text), got = fast.encode(text);
            EXPECT_EQ(got.ids, want.ids) << "variant " << v << ": " << json(text).dump();
            EXPECT_EQ(got.tokens, want.tokens) << "variant " << v << ": " << json(text).dump();
            EXPECT_EQ(got.offsets, want.offsets) << "variant " << v << ": " << json(text).dump();
            const auto want_pair = general.encode_pair(text, "Hello [MASK]"), got_pair = fast.encode_pair(text, "Hello [MASK]");
            EXPECT_EQ(got_pair.ids, want_pair.ids) << "variant " << v << ": " << json(text).dump();
            EXPECT_EQ(got_pair.offsets, want_pair.offsets) << "variant " << v << ": " << json(text).dump();
        }
    }
    // Normalizers that look beyond one character keep every text on the general path.
    j = bert_json();
    j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "Lowercase"}}, {{"type", "Strip"}, {"strip_left", true}}}}};
    EXPECT_FALSE(Tokenizer::from_json(j.dump()).impl().has_ascii_path());
}

// Beside ASCII text, text with accents, CJK or a control character above U+007F takes the general
// path and is split exactly as the same words in ASCII are.
TEST(Tokenizer, AsciiAndNonAsciiTextsOfOneTokenizerAgree) {
    const auto ascii = bert().encode("Hello, WORLD! unaffable");
    const auto accents = bert().encode("Héllo, WÖRLD! unaffable");
    EXPECT_EQ(accents.ids, ascii.ids);
    EXPECT_EQ(accents.offsets, (Offsets{{0, 0}, {0, 6}, {6, 7}, {8, 14}, {14, 15}, {16, 18}, {18, 21}, {21, 25}, {0, 0}}));
    const auto cjk = bert().encode("hello中world");
    EXPECT_EQ(cjk.tokens, (std::vector<std::string>{"[CLS]", "hello", "中", "world", "[SEP]"}));
    EXPECT_EQ(cjk.offsets, (Offsets{{0, 0}, {0, 5}, {5, 8}, {8, 13}, {0, 0}}));
    // U+0085 (a C1 control) is dropped by clean_text like U+0001 is.
    EXPECT_EQ(bert().encode("hel\u0085lo").ids, bert().encode("hel\x01lo").ids);
    EXPECT_EQ(bert().encode("hel\u0085lo").offsets, (Offsets{{0, 0}, {0, 7}, {0, 0}}));
    EXPECT_EQ(bert().encode("hel\x01lo").offsets, (Offsets{{0, 0}, {0, 6}, {0, 0}}));
}

TEST(Tokenizer, ToJsonRoundTrips) {
    const Tokenizer copy = Tokenizer::from_json(bert().to_json());
    EXPECT_EQ(copy.encode("Hello, world! 中文").ids, bert().encode("Hello, world! 中文").ids);
}

}  // namespace
