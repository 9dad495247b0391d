// Text datasets: read_text_table (RFC 4180 CSV/TSV, JSON Lines), TextDataset (labels, tokenizing,
// the on-disk cache), collate_text (dynamic padding) and length-bucketed batching.
#include <gtest/gtest.h>

#include <fstream>
#include <numeric>
#include <set>
#include <thread>

#include "graft/data/dataloader.hpp"
#include "graft/data/length_buckets.hpp"
#include "graft/data/text_dataset.hpp"
#include "graft/data/text_table.hpp"
#include "graft/tokenizers/train.hpp"
#include "test_util.hpp"

namespace graft {
namespace {

using test::ScratchDir;

void write(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

const tokenizers::Tokenizer& small_tokenizer() {
    static const tokenizers::Tokenizer tok = tokenizers::train_wordpiece(
        {"the cat sat on the mat", "a dog ran in the park", "the cat and the dog", "good bad good bad",
         "a long text about the cat that sat on the mat in the park"},
        {.vocab_size = 80, .min_frequency = 1, .special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}});
    return tok;
}

TEST(TextTable, CsvQuotingEdgeCases) {
    ScratchDir dir("texttable");
    // Quoted delimiters, doubled quotes, a newline inside quotes, CRLF records, an empty quoted
    // field, a blank line, and a last record without a line end.
    write(dir.path("t.csv"),
          "id,text,label\r\n"
          "1,\"hello, world\",pos\r\n"
          "2,\"she said \"\"hi\"\"\",neg\n"
          "\n"
          "3,\"two\nlines\",pos\n"
          "4,\"\",neg\n"
          "5,plain,\"pos\"");
    const data::TextTable t = data::read_text_table(dir.path("t.csv"));
    ASSERT_EQ(t.texts.size(), 5u);
    EXPECT_EQ(t.texts[0], "hello, world");
    EXPECT_EQ(t.texts[1], "she said \"hi\"");
    EXPECT_EQ(t.texts[2], "two\nlines");
    EXPECT_EQ(t.texts[3], "");
    EXPECT_EQ(t.texts[4], "plain");
    EXPECT_EQ(t.labels, (std::vector<std::string>{"pos", "neg", "pos", "neg", "pos"}));
    // Lines count the blank line and the newline inside the quotes.
    EXPECT_EQ(t.lines, (std::vector<std::size_t>{2, 3, 5, 7, 8}));
}

TEST(TextTable, TsvAndNoHeader) {
    ScratchDir dir("texttable");
    write(dir.path("t.tsv"), "0\tgood, fine\n1\t\"tab\tinside\"\n");
    const data::TextTable t =
        data::read_text_table(dir.path("t.tsv"), {.text_field = "1", .label_field = "0", .header = false});
    EXPECT_EQ(t.texts, (std::vector<std::string>{"good, fine", "tab\tinside"}));
    EXPECT_EQ(t.labels, (std::vector<std::string>{"0", "1"}));
}

TEST(TextTable, CsvErrorsNameFileLineAndColumn) {
    ScratchDir dir("texttable");
    write(dir.path("open.csv"), "text,label\n\"never closed,1\nnext,2\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("open.csv")), IOError, "line 2, column 1: the quoted field is never closed");
    write(dir.path("stray.csv"), "text,label\nab\"c,1\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("stray.csv")), IOError, "stray.csv', line 2, column 1: a quote inside");
    write(dir.path("after.csv"), "text,label\n\"ab\"c,1\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("after.csv")), IOError, "line 2, column 1: 'c' after the closing quote");
    write(dir.path("width.csv"), "text,label\na,1\nb,2,3\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("width.csv")), IOError, "line 3: 3 fields, but the header has 2");
    write(dir.path("cols.csv"), "body,label\na,1\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("cols.csv")), ValueError, "no text column 'text' (columns: 'body', 'label')");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("cols.txt")), ValueError, "cannot tell the format");
}

TEST(TextTable, JsonlFieldsAndErrors) {
    ScratchDir dir("texttable");
    write(dir.path("ok.jsonl"), "{\"review\": \"great \\\"film\\\"\", \"stars\": 5}\n\n{\"review\": \"bad\", \"stars\": \"one\"}\n");
    const data::TextTable t = data::read_text_table(dir.path("ok.jsonl"), {.text_field = "review", .label_field = "stars"});
    EXPECT_EQ(t.texts, (std::vector<std::string>{"great \"film\"", "bad"}));
    EXPECT_EQ(t.labels, (std::vector<std::string>{"5", "one"}));
    EXPECT_EQ(t.lines, (std::vector<std::size_t>{1, 3}));

    write(dir.path("missing.jsonl"), "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("missing.jsonl")), IOError, "missing.jsonl', line 2: no field 'label'");
    write(dir.path("type.jsonl"), "{\"text\": 3, \"label\": 1}\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("type.jsonl")), IOError, "line 1, field 'text': number, not a string");
    write(dir.path("float.jsonl"), "{\"text\": \"a\", \"label\": 1.5}\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("float.jsonl")), IOError, "field 'label': number (1.5)");
    write(dir.path("bad.jsonl"), "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"a\" \"label\": 1}\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("bad.jsonl")), IOError, "line 2, column 20: not valid JSON (unexpected string literal");
    write(dir.path("array.jsonl"), "[1, 2]\n");
    EXPECT_THROW_MSG(data::read_text_table(dir.path("array.jsonl")), IOError, "line 1: not a JSON object but array");
}

TEST(TextDataset, NamedLabelsMapSortedAndReusable) {
    ScratchDir dir("textds");
    write(dir.path("train.csv"), "text,label\nthe cat,pets\nthe park,places\na dog,pets\n");
    write(dir.path("valid.csv"), "text,label\nthe mat,places\n");
    write(dir.path("unknown.csv"), "text,label\nthe mat,places\nthe cat,animals\n");
    const auto& tok = small_tokenizer();
    auto train = data::TextDataset::from_file(dir.path("train.csv"), tok, {.labels = data::LabelKind::Names});
    EXPECT_EQ(train->label_map().names(), (std::vector<std::string>{"pets", "places"}));
    EXPECT_EQ(train->labels(), (std::vector<std::int64_t>{0, 1, 0}));
    EXPECT_EQ(train->num_classes(), 2u);
    // The validation file has only "places": with the training map it is still class 1.
    auto valid = data::TextDataset::from_file(dir.path("valid.csv"), tok,
                                              {.labels = data::LabelKind::Names, .label_map = train->label_map()});
    EXPECT_EQ(valid->labels(), (std::vector<std::int64_t>{1}));
    EXPECT_THROW_MSG(data::TextDataset::from_file(dir.path("unknown.csv"), tok,
                                                  {.labels = data::LabelKind::Names, .label_map = train->label_map()}),
                     IOError, "unknown.csv', line 3, field 'label': unknown label 'animals' (the label map has 'pets', 'places')");
    EXPECT_THROW_MSG(data::TextDataset::from_file(dir.path("train.csv"), tok), IOError,
                     "train.csv', line 2, field 'label': the label 'pets' is not a class id");
}

TEST(TextDataset, EncodesWithSpecialTokensAndTruncates) {
    const auto& tok = small_tokenizer();
    const std::vector<std::string> texts = {"the cat", "a long text about the cat that sat on the mat in the park"};
    data::TextDataset ds(texts, {0, 1}, tok, /*max_length=*/6);
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds.ids(0), tok.encode("the cat").ids);
    EXPECT_EQ(ds.lengths()[1], 6u);
    const auto long_ids = ds.ids(1);
    EXPECT_EQ(long_ids.front(), *tok.token_to_id("[CLS]"));
    EXPECT_EQ(long_ids.back(), *tok.token_to_id("[SEP]"));
    const data::Example ex = ds.get(0);
    EXPECT_EQ(ex.input.dtype(), DType::Int64);
    EXPECT_EQ(ex.target.dim(), 0);
    EXPECT_EQ(ex.target.item<std::int64_t>(), 0);
    EXPECT_EQ(ex.fields.at("token_type_ids").shape(), ex.input.shape());
    EXPECT_THROW_MSG(data::TextDataset(texts, {0}, tok), ValueError, "1 labels for 2 texts");
}

TEST(TextDataset, InvalidUtf8NamesTheLine) {
    ScratchDir dir("textds");
    write(dir.path("bad.csv"), "text,label\nfine,0\nbad \xff byte,1\n");
    EXPECT_THROW_MSG(data::TextDataset::from_file(dir.path("bad.csv"), small_tokenizer()), Error,
                     "bad.csv', line 3, field 'text'");
}

TEST(TextDataset, CacheHitsAndInvalidates) {
    ScratchDir dir("textds");
    const auto data_file = dir.path("d.jsonl");
    write(data_file, "{\"text\": \"the cat sat\", \"label\": 0}\n{\"text\": \"a dog\", \"label\": 1}\n");
    const data::TextDatasetOptions options{.cache_dir = dir.path("cache")};
    const auto& tok = small_tokenizer();

    auto first = data::TextDataset::from_file(data_file, tok, options);
    EXPECT_FALSE(first->loaded_from_cache());
    auto second = data::TextDataset::from_file(data_file, tok, options);
    EXPECT_TRUE(second->loaded_from_cache());
    EXPECT_EQ(second->ids(0), first->ids(0));
    EXPECT_EQ(second->ids(1), first->ids(1));
    EXPECT_EQ(second->labels(), first->labels());

    // Another tokenizer: a miss, its own ids, and the cache rewritten for it.
    const auto other = tokenizers::train_wordpiece({"the cat sat", "a dog"},
                                                   {.vocab_size = 40, .min_frequency = 1,
                                                    .special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"}});
    auto third = data::TextDataset::from_file(data_file, other, options);
    EXPECT_FALSE(third->loaded_from_cache());
    EXPECT_EQ(third->ids(0), other.encode("the cat sat").ids);
    EXPECT_TRUE(data::TextDataset::from_file(data_file, other, options)->loaded_from_cache());

    // The file edited (its size changes): a miss with the new text.
    write(data_file, "{\"text\": \"the mat\", \"label\": 0}\n{\"text\": \"a dog\", \"label\": 1}\n");
    auto fourth = data::TextDataset::from_file(data_file, other, options);
    EXPECT_FALSE(fourth->loaded_from_cache());
    EXPECT_EQ(fourth->ids(0), other.encode("the mat").ids);

    // Only the time changes (same size): still a miss.
    std::filesystem::last_write_time(data_file, std::filesystem::last_write_time(data_file) + std::chrono::seconds(5));
    EXPECT_FALSE(data::TextDataset::from_file(data_file, other, options)->loaded_from_cache());

    // Another max_length: a miss.
    data::TextDatasetOptions shorter = options;
    shorter.max_length = 3;
    auto fifth = data::TextDataset::from_file(data_file, other, shorter);
    EXPECT_FALSE(fifth->loaded_from_cache());
    EXPECT_EQ(fifth->lengths()[0], 3u);

    // A damaged cache file is a miss, not an error.
    for (const auto& entry : std::filesystem::directory_iterator(dir.path("cache")))
        std::filesystem::resize_file(entry.path(), 30);
    EXPECT_FALSE(data::TextDataset::from_file(data_file, other, shorter)->loaded_from_cache());
}

TEST(TextCollate, PadsEachBatchToItsLongest) {
    const auto& tok = small_tokenizer();
    const std::vector<std::string> texts = {"the cat", "the cat sat on the mat", "a dog", "good"};
    auto ds = std::make_shared<data::TextDataset>(texts, std::vector<std::int64_t>{0, 1, 2, 3}, tok);
    const std::int64_t pad = tok.pad_id();
    data::DataLoader loader(ds, {.batch_size = 2, .num_threads = 1, .collate = data::text_collate(pad)});
    std::vector<std::int64_t> widths;
    std::size_t row = 0;
    for (const auto& b : loader) {
        const Tensor& mask = b.fields.at("attention_mask");
        ASSERT_EQ(b.input.dim(), 2);
        EXPECT_EQ(b.input.dtype(), DType::Int64);
        EXPECT_EQ(mask.shape(), b.input.shape());
        EXPECT_EQ(b.fields.at("token_type_ids").shape(), b.input.shape());
        EXPECT_EQ(b.target.shape(), (Shape{2}));
        widths.push_back(b.input.size(1));
        const Tensor ids = b.input.contiguous();
        const Tensor m = mask.contiguous();
        const std::int64_t width = b.input.size(1);
        for (std::int64_t i = 0; i < b.input.size(0); ++i, ++row) {
            const auto len = static_cast<std::int64_t>(ds->lengths()[row]);
            for (std::int64_t t = 0; t < width; ++t) {
                const auto id = ids.data_ptr<std::int64_t>()[i * width + t];
                EXPECT_EQ(m.data_ptr<std::int64_t>()[i * width + t], t < len ? 1 : 0);
                if (t >= len) EXPECT_EQ(id, pad);
                else EXPECT_EQ(id, ds->ids(row)[static_cast<std::size_t>(t)]);
            }
        }
    }
    // Each batch is as wide as its own longest text, not the dataset's.
    EXPECT_EQ(widths, (std::vector<std::int64_t>{static_cast<std::int64_t>(std::max(ds->lengths()[0], ds->lengths()[1])),
                                                 static_cast<std::int64_t>(std::max(ds->lengths()[2], ds->lengths()[3]))}));
    EXPECT_LT(widths[1], widths[0]);
    EXPECT_THROW_MSG(data::collate_text({data::Example{zeros({3}), Tensor()}}, 0), ValueError, "not 1-d int64 token ids");
}

TEST(LengthBuckets, EveryExampleOncePerEpochAndDeterministic) {
    std::vector<std::size_t> lengths;
    Generator gen(3);
    for (int i = 0; i < 103; ++i) lengths.push_back(static_cast<std::size_t>(gen.randint(1, 60)));
    const std::size_t batch = 8;
    for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
        const auto order = data::length_bucketed_order(lengths, batch, epoch, {.seed = 5, .pool_batches = 4});
        ASSERT_EQ(order.size(), lengths.size());
        EXPECT_EQ(std::set<std::size_t>(order.begin(), order.end()).size(), lengths.size());
        EXPECT_EQ(order, data::length_bucketed_order(lengths, batch, epoch, {.seed = 5, .pool_batches = 4}));
        // Padding is what bucketing saves: the summed batch widths are well below a random order's.
        auto padded = [&](const std::vector<std::size_t>& o) {
            std::size_t total = 0;
            for (std::size_t b = 0; b < o.size(); b += batch) {
                std::size_t w = 0;
                for (std::size_t i = b; i < std::min(o.size(), b + batch); ++i) w = std::max(w, lengths[o[i]]);
                total += w;
            }
            return total;
        };
        std::vector<std::size_t> plain(lengths.size());
        std::iota(plain.begin(), plain.end(), std::size_t{0});
        EXPECT_LT(padded(order), padded(plain) * 3 / 4);
    }
    EXPECT_NE(data::length_bucketed_order(lengths, batch, 0, {.seed = 5}),
              data::length_bucketed_order(lengths, batch, 1, {.seed = 5}));
    EXPECT_NE(data::length_bucketed_order(lengths, batch, 0, {.seed = 5}),
              data::length_bucketed_order(lengths, batch, 0, {.seed = 6}));
    // The short batch comes last: every batch but the last is full, as the DataLoader cuts them.
    const auto& tok = small_tokenizer();
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < 11; ++i) texts.push_back(std::string(i % 4 == 0 ? "the cat sat on the mat " : "a ") + "dog");
    auto ds = std::make_shared<data::TextDataset>(texts, std::vector<std::int64_t>(11, 0), tok);
    data::DataLoader loader(ds, {.batch_size = 4, .num_threads = 1, .collate = data::text_collate(tok.pad_id()),
                                 .order = data::length_buckets(ds->lengths(), 4, {.seed = 1})});
    std::size_t seen = 0;
    for (const auto& b : loader) seen += static_cast<std::size_t>(b.input.size(0));
    EXPECT_EQ(seen, 11u);
    data::DataLoader bad(ds, {.batch_size = 4, .order = [](std::uint64_t) { return std::vector<std::size_t>{0, 0}; }});
    EXPECT_THROW_MSG(bad.begin(), ValueError, "not a permutation of the dataset's 11");
}

TEST(Collate, StacksNamedFields) {
    data::Example a{zeros({2}), Tensor(), {{"mask", ones({2})}}};
    data::Example b{ones({2}), Tensor(), {{"mask", zeros({2})}}};
    const data::Example batch = data::collate({a, b});
    EXPECT_EQ(batch.fields.at("mask").shape(), (Shape{2, 2}));
    EXPECT_THROW_MSG(data::collate({a, data::Example{ones({2}), Tensor()}}), ValueError, "fields differ");
}

}  // namespace
}  // namespace graft
