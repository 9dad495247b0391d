// graft/data/text_table.hpp — the text and label columns of a CSV, TSV or JSON Lines file.
//
//   auto t = data::read_text_table("reviews.csv", {.text_field = "review", .label_field = "stars"});
//   t.texts[i]; t.labels[i]; t.lines[i];   // the label as written ("4", "positive"); its line
//
// CSV and TSV follow RFC 4180: records split by "\n" or "\r\n", fields by the delimiter (',' or
// '\t'); a field that starts with '"' is quoted and may hold delimiters, newlines and doubled
// quotes ("" for one "). Blank lines are skipped. With `header` the first record names the
// columns; without it the columns are named by their position from 0 ("0", "1", …). Every record
// must have as many fields as the first. JSON Lines: one JSON object per line (blank lines
// skipped); the text field must be a string, the label a string or an integer (kept as its
// decimal text). A gzip-compressed file (by its magic bytes) is decompressed first.
//
// Errors are IOError naming the file, the line (from 1) and the column or field: a file that
// cannot be read, an unterminated quote, a stray quote inside an unquoted field, text after a
// closing quote, a record with the wrong number of fields, a line that is not a JSON object, a
// missing field or one of the wrong type. ValueError for an unknown format or column name.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace graft::data {

enum class TextFormat {
    Auto,   ///< by the extension (a trailing ".gz" ignored): .csv, .tsv/.tab, .jsonl/.ndjson
    Csv,    ///< comma-separated
    Tsv,    ///< tab-separated, with CSV's quoting
    Jsonl,  ///< one JSON object per line
};

struct TextTableOptions {
    TextFormat format = TextFormat::Auto;
    /// The column (CSV/TSV header name, or position from 0 without a header) or JSON key of the text.
    std::string text_field = "text";
    /// The column or key of the label; empty: the file has no labels.
    std::string label_field = "label";
    /// CSV/TSV: the first record names the columns.
    bool header = true;
};

struct TextTable {
    std::vector<std::string> texts;
    /// The labels as written (empty when label_field is).
    std::vector<std::string> labels;
    /// The line each record starts on (from 1).
    std::vector<std::size_t> lines;
    /// The file the table was read from, for messages about its records.
    std::filesystem::path path;
};

/// The text and label of every record of `path`; errors as described above.
TextTable read_text_table(const std::filesystem::path& path, const TextTableOptions& options = {});

/// The format `options.format` names, or for Auto the one `path`'s extension gives (ValueError
/// naming the path when it gives none).
TextFormat resolve_text_format(const std::filesystem::path& path, TextFormat format);

}  // namespace graft::data
