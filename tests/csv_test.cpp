// CSV loading: load_csv and read_csv on good files (header, label by name or position, regression
// targets, delimiters, CRLF, blank lines), and each malformed input's error naming file, line, column.
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.hpp"

using namespace graft;
using namespace graft::data;

namespace {

/// A fresh temporary directory per test, removed afterwards; write() puts a file in it.
class CsvTest : public ::testing::Test {
protected:
    std::filesystem::path write(const std::string& name, const std::string& content) {
        const auto path = scratch_.path(name);
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    test::ScratchDir scratch_{"csv"};
};

std::string file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_F(CsvTest, LoadsFeaturesAndClassLabelsFromTheLastColumn) {
    const auto path = write("iris.csv", "a,b,c,label\n1,2,3,0\n4.5,-5,6e-1,2\n7,8,9,1\n");
    auto ds = load_csv(path);
    ASSERT_EQ(ds->size(), 3u);
    EXPECT_EQ(ds->inputs().shape(), (Shape{3, 3}));
    EXPECT_EQ(ds->inputs().dtype(), DType::Float32);
    EXPECT_EQ(ds->inputs().to_vector<float>(), (std::vector<float>{1, 2, 3, 4.5f, -5, 0.6f, 7, 8, 9}));
    EXPECT_EQ(ds->targets().dtype(), DType::Int64);
    EXPECT_EQ(ds->targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 2, 1}));
    EXPECT_EQ(ds->get(1).target.item<std::int64_t>(), 2);
}

TEST_F(CsvTest, LabelByNameOrPositionAndRegressionTargets) {
    const auto path = write("t.csv", "x1,\"y\",x2\n1,10,2\n3,20.5,4\n");
    auto by_name = load_csv(path, {.label_column = "y", .labels_are_classes = false});
    EXPECT_EQ(by_name->inputs().to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(by_name->targets().dtype(), DType::Float32);
    EXPECT_EQ(by_name->targets().to_vector<float>(), (std::vector<float>{10, 20.5f}));
    auto by_index = load_csv(path, {.label_index = 0});
    EXPECT_EQ(by_index->inputs().to_vector<float>(), (std::vector<float>{10, 2, 20.5f, 4}));
    EXPECT_EQ(by_index->targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 3}));
    auto from_end = load_csv(path, {.label_index = -2, .labels_are_classes = false});
    EXPECT_EQ(from_end->targets().to_vector<float>(), (std::vector<float>{10, 20.5f}));
}

TEST_F(CsvTest, NoHeaderOtherDelimiterCrlfBlankLinesAndSpaces) {
    const auto path = write("s.csv", "\xEF\xBB\xBF 1 ; +2;3\r\n\r\n  \n4;5 ;6\r\n\n");
    auto ds = load_csv(path, {.header = false, .delimiter = ';'});
    EXPECT_EQ(ds->inputs().to_vector<float>(), (std::vector<float>{1, 2, 4, 5}));
    EXPECT_EQ(ds->targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 6}));
    const auto tabs = write("t.tsv", "1\t2\n3\t4\n");
    EXPECT_EQ(load_csv(tabs, {.header = false, .delimiter = '\t'})->targets().to_vector<std::int64_t>(),
              (std::vector<std::int64_t>{2, 4}));
}

TEST_F(CsvTest, ReadCsvKeepsEveryCellAsFloat64) {
    const auto path = write("m.csv", "p,q\n0.1,16777217\n-3,1e300\n");
    CsvTable t = read_csv(path);
    EXPECT_EQ(t.columns, (std::vector<std::string>{"p", "q"}));
    EXPECT_EQ(t.values.dtype(), DType::Float64);
    EXPECT_EQ(t.values.shape(), (Shape{2, 2}));
    EXPECT_EQ(t.values.to_vector<double>(), (std::vector<double>{0.1, 16777217.0, -3, 1e300}));
    CsvTable bare = read_csv(write("n.csv", "1,2\n"), /*header=*/false);
    EXPECT_TRUE(bare.columns.empty());
    EXPECT_EQ(bare.values.shape(), (Shape{1, 2}));
}

TEST_F(CsvTest, WrongColumnCountNamesTheLine) {
    const auto path = write("bad.csv", "a,b,y\n1,2,0\n\n3,4\n");
    EXPECT_THROW_MSG(load_csv(path), IOError, "load_csv: '" + path.string() + "' line 4: 2 columns, expected 3 (as on line 1)");
    const auto extra = write("extra.csv", "1,2,0\n1,2,0,5\n");
    EXPECT_THROW_MSG(load_csv(extra, {.header = false}), IOError, "line 2: 4 columns, expected 3 (as on line 1)");
}

TEST_F(CsvTest, NonNumericAndEmptyCellsNameLineAndColumn) {
    const auto path = write("nan.csv", "a,b,y\n1,2,0\n1,two,1\n");
    EXPECT_THROW_MSG(load_csv(path), IOError, "nan.csv' line 3, column 2: 'two' is not a number");
    const auto empty_cell = write("gap.csv", "a,b,y\n1,,0\n");
    EXPECT_THROW_MSG(load_csv(empty_cell), IOError, "gap.csv' line 2, column 2: empty cell");
    const auto trailing = write("junk.csv", "1,2.5x,0\n");
    EXPECT_THROW_MSG(read_csv(trailing, false), IOError, "read_csv: '" + trailing.string() + "' line 1, column 2: '2.5x' is not a number");
    EXPECT_THROW_MSG(read_csv(write("huge.csv", "1,1e999\n"), false), IOError,
                     "line 1, column 2: '1e999' is out of the range of a double");
}

TEST_F(CsvTest, EmptyFileHeaderOnlyAndMissingFile) {
    EXPECT_THROW_MSG(load_csv(write("empty.csv", "")), IOError, "empty.csv': the file is empty");
    EXPECT_THROW_MSG(load_csv(write("blank.csv", "\n  \n")), IOError, "the file is empty");
    EXPECT_THROW_MSG(load_csv(write("head.csv", "a,b\n")), IOError, "head.csv': the file has a header but no data rows");
    EXPECT_THROW_MSG(load_csv(scratch_.path("missing.csv")), IOError,
                     "load_csv: cannot open '" + scratch_.path("missing.csv").string() + "': No such file or directory");
}

TEST_F(CsvTest, ADirectoryIsNamedAsOne) {
    std::filesystem::create_directory(scratch_.path("table.csv"));
    EXPECT_THROW_MSG(load_csv(scratch_.path("table.csv")), IOError,
                     "load_csv: '" + scratch_.path("table.csv").string() + "' is a directory");
    EXPECT_THROW_MSG(read_csv(scratch_.path("table.csv")), IOError, "table.csv' is a directory");
}

TEST_F(CsvTest, AHugeOrBinaryCellIsShortenedAndEscapedInTheMessage) {
    const std::string huge(10'000'000, 'x');
    const auto path = write("huge.csv", "a,b\n1," + huge + "\n");
    try {
        load_csv(path);
        ADD_FAILURE() << "expected IOError";
    } catch (const IOError& e) {
        const std::string message = e.what();
        EXPECT_LT(message.size(), 400u) << message.substr(0, 400);
        EXPECT_NE(message.find("line 2, column 2: '" + std::string(64, 'x') + "…(10000000 bytes)' is not a number"),
                  std::string::npos)
            << message;
    }
    const auto binary = write("nul.csv", std::string("a,b\n1,2\x00\x01\xff\n", 11));
    EXPECT_THROW_MSG(load_csv(binary), IOError, "line 2, column 2: '2\\x00\\x01\\xff' is not a number");
    const auto header = write("header.csv", std::string("x\x00y,", 4) + huge + "\n1,2\n");
    try {
        load_csv(header, {.label_column = "label"});
        ADD_FAILURE() << "expected ValueError";
    } catch (const ValueError& e) {
        const std::string message = e.what();
        EXPECT_LT(message.size(), 400u) << message.substr(0, 400);
        EXPECT_NE(message.find("(columns: x\\x00y, " + std::string(64, 'x') + "…(10000000 bytes))"), std::string::npos)
            << message;
    }
}

TEST_F(CsvTest, LabelOptionsThatDoNotFitTheFile) {
    const auto path = write("l.csv", "a,b,y\n1,2,0\n");
    EXPECT_THROW_MSG(load_csv(path, {.label_column = "label"}), ValueError,
                     "no column named 'label' in the header (columns: a, b, y)");
    EXPECT_THROW_MSG(load_csv(path, {.header = false, .label_column = "y"}), ValueError, "needs a header");
    EXPECT_THROW_MSG(load_csv(path, {.label_index = 3}), ValueError, "label_index 3 is out of range for 3 columns");
    EXPECT_THROW_MSG(load_csv(path, {.label_index = -4}), ValueError, "label_index -4 is out of range");
    EXPECT_THROW_MSG(load_csv(write("one.csv", "y\n1\n")), IOError, "there are no features");
}

TEST_F(CsvTest, ClassLabelsMustBeIntegers) {
    const auto path = write("frac.csv", "a,y\n1,0\n2,1\n3,2.5\n");
    EXPECT_THROW_MSG(load_csv(path), IOError, "frac.csv' line 4, column 2: class label 2.5 is not an integer");
    EXPECT_EQ(load_csv(path, {.labels_are_classes = false})->targets().to_vector<float>(),
              (std::vector<float>{0, 1, 2.5f}));
    EXPECT_EQ(load_csv(write("whole.csv", "a,y\n1,3.0\n"))->targets().to_vector<std::int64_t>(),
              (std::vector<std::int64_t>{3}));
}

TEST_F(CsvTest, LoadedDatasetFeedsTheLoader) {
    const auto path = write("d.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");
    DataLoader loader(load_csv(path), {.batch_size = 2});
    auto it = loader.begin();
    EXPECT_EQ(it->input.shape(), (Shape{2, 2}));
    EXPECT_EQ(it->target.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1}));
}

TEST_F(CsvTest, GzipFilesAreDecompressed) {
    // The UCI digits as scikit-learn ships them: 1,797 rows of 64 pixels and a label, gzip-compressed.
    const std::filesystem::path digits = GRAFT_EXAMPLES_DATA_DIR "/digits.csv.gz";
    auto ds = load_csv(digits, {.header = false});
    ASSERT_EQ(ds->size(), 1797u);
    EXPECT_EQ(ds->inputs().shape(), (Shape{1797, 64}));
    const auto first = ds->get(0).input.to_vector<float>();
    EXPECT_EQ(std::vector<float>(first.begin(), first.begin() + 6), (std::vector<float>{0, 0, 5, 13, 9, 1}));
    std::vector<int> per_class(10, 0);
    for (auto y : ds->targets().to_vector<std::int64_t>()) ++per_class.at(static_cast<std::size_t>(y));
    EXPECT_EQ(per_class, (std::vector<int>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}));

    const std::string packed = file_bytes(digits);
    const auto truncated = write("truncated.csv.gz", packed.substr(0, packed.size() / 2));
    EXPECT_THROW_MSG(load_csv(truncated, {.header = false}), IOError, "truncated");
    std::string corrupt = packed;
    for (std::size_t i = 20; i < 60; ++i) corrupt[i] = static_cast<char>(0xff);
    const auto bad = write("corrupt.csv.gz", corrupt);
    EXPECT_THROW_MSG(load_csv(bad, {.header = false}), IOError, "corrupt.csv.gz': the gzip data is invalid");
}
