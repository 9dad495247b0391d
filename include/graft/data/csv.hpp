// graft/data/csv.hpp — numeric CSV files as datasets (load_csv) or as a matrix (read_csv).
//
//   auto iris = data::load_csv("iris.csv", {.label_column = "species"});   // [150, 4] float32, [150] int64
//   auto houses = data::load_csv("houses.csv", {.labels_are_classes = false});   // float32 targets
//   data::CsvTable t = data::read_csv("table.csv");   // t.columns (names), t.values [rows, cols] float64
//
// The format: one row per line ("\n" or "\r\n"), cells split by `delimiter`, surrounding spaces
// ignored, blank lines skipped, an optional header line of column names (surrounding double quotes
// removed). Every other cell must be a number (as strtod reads it: 1, -2.5e3, nan, inf). Quoted
// cells holding the delimiter are not supported. A gzip-compressed file (by its magic bytes, so
// "digits.csv.gz") is decompressed first.
//
// Errors name the file, the line and the column (both counted from 1):
//   IOError   the file cannot be read, is empty, has no data rows, has a row with the wrong number
//             of cells, a cell that is empty or not a number, or a class label that is not an integer
//   ValueError an option that does not fit the file (unknown label_column, label_index out of range)
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graft/data/dataset.hpp"

namespace graft::data {

struct CsvOptions {
    /// The first non-blank line holds column names.
    bool header = true;
    char delimiter = ',';
    /// The label column by name (needs a header); takes precedence over label_index.
    std::optional<std::string> label_column = std::nullopt;
    /// The label column by position from 0; negative counts from the end (-1 = last).
    int label_index = -1;
    /// Labels are class indices (int64 targets [N]); else float32 regression targets [N].
    bool labels_are_classes = true;
};

/// Features (every column but the label, in file order) as float32 [N, F] inputs, the label column
/// as targets [N]. Errors as described above.
std::shared_ptr<TensorDataset> load_csv(const std::filesystem::path& path, const CsvOptions& options = {});

struct CsvTable {
    /// Column names from the header (empty without one).
    std::vector<std::string> columns;
    /// All cells as float64 [rows, columns].
    Tensor values;
};

/// Every cell of a numeric CSV file, exactly as parsed (float64). Errors as described above.
CsvTable read_csv(const std::filesystem::path& path, bool header = true, char delimiter = ',');

}  // namespace graft::data
