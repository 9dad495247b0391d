// Numeric CSV parsing (read_csv) and the dataset built from it (load_csv). Every error names the
// file, the line and the column.
#include "graft/data/csv.hpp"

#include <charconv>
#include <cmath>
#include <sstream>
#include <string_view>
#include <variant>

#include "io/printable.hpp"
#include "io/read_text.hpp"

namespace graft::data {

namespace {

/// A parsed file: the header's names, the cells row by row, and each row's line number.
struct ParsedCsv {
    std::vector<std::string> columns;
    std::size_t num_columns = 0;
    std::vector<double> values;
    std::vector<std::size_t> row_lines;

    std::size_t rows() const { return row_lines.size(); }
};

/// How much of a cell or a column name a message shows: a cell may be megabytes long.
constexpr std::size_t kShownBytes = 64;

/// "`who`: 'path'" — the start of every message about the file.
std::string describe(const char* who, const std::filesystem::path& path) {
    return std::string(who) + ": " + io::detail::quote(path.string());
}

/// The cell without surrounding spaces and tabs (unless the delimiter is one of them).
std::string_view trim(std::string_view cell, char delimiter) {
    const auto blank = [delimiter](char c) { return (c == ' ' || c == '\t') && c != delimiter; };
    while (!cell.empty() && blank(cell.front())) cell.remove_prefix(1);
    while (!cell.empty() && blank(cell.back())) cell.remove_suffix(1);
    return cell;
}

std::vector<std::string_view> split_cells(std::string_view line, char delimiter) {
    std::vector<std::string_view> cells;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = line.find(delimiter, start);
        cells.push_back(trim(line.substr(start, end == std::string_view::npos ? end : end - start), delimiter));
        if (end == std::string_view::npos) return cells;
        start = end + 1;
    }
}

/// The whole cell as a number (a leading '+' allowed); otherwise why it is not one.
std::variant<double, std::string> parse_number(std::string_view cell) {
    if (cell.empty()) return std::string("empty cell");
    const std::string_view text = cell;
    if (cell.front() == '+') cell.remove_prefix(1);
    double value = 0.0;
    const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
    if (end == cell.data() + cell.size() && ec == std::errc()) return value;
    const bool is_number = end == cell.data() + cell.size() && ec == std::errc::result_out_of_range;
    return io::detail::quote(text, kShownBytes) + (is_number ? " is out of the range of a double" : " is not a number");
}

ParsedCsv parse_csv(const std::filesystem::path& path, bool header, char delimiter, const char* who) {
    if (delimiter == '\n' || delimiter == '\r' || delimiter == '"')
        throw ValueError(std::string(who) + ": the delimiter cannot be a newline or a double quote");
    const std::string text = io::detail::read_text_file(path, who);
    std::string_view rest(text);
    if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);  // UTF-8 byte order mark

    ParsedCsv csv;
    std::size_t line_no = 0;
    std::size_t columns_line = 0;  // where the expected column count came from
    bool header_pending = header;
    while (!rest.empty()) {
        const std::size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
        ++line_no;
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (trim(line, delimiter).empty() && line.find(delimiter) == std::string_view::npos) continue;

        const std::vector<std::string_view> cells = split_cells(line, delimiter);
        const std::string at_line = describe(who, path) + " line " + std::to_string(line_no);
        if (columns_line == 0) {
            csv.num_columns = cells.size();
            columns_line = line_no;
        } else if (cells.size() != csv.num_columns) {
            throw IOError(at_line + ": " + std::to_string(cells.size()) + " columns, expected " +
                          std::to_string(csv.num_columns) + " (as on line " + std::to_string(columns_line) + ")");
        }
        if (header_pending) {
            for (std::string_view name : cells) {
                if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
                    name = name.substr(1, name.size() - 2);
                csv.columns.emplace_back(name);
            }
            header_pending = false;
            continue;
        }
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const std::variant<double, std::string> value = parse_number(cells[c]);
            if (const auto* problem = std::get_if<std::string>(&value))
                throw IOError(at_line + ", column " + std::to_string(c + 1) + ": " + *problem);
            csv.values.push_back(std::get<double>(value));
        }
        csv.row_lines.push_back(line_no);
    }
    if (columns_line == 0) throw IOError(describe(who, path) + ": the file is empty");
    if (csv.rows() == 0) throw IOError(describe(who, path) + ": the file has a header but no data rows");
    return csv;
}

/// The label column's position, from the options and the header; ValueError when it does not fit.
std::size_t label_position(const ParsedCsv& csv, const CsvOptions& options, const std::filesystem::path& path) {
    const std::string at = describe("load_csv", path);
    if (options.label_column) {
        for (std::size_t c = 0; c < csv.columns.size(); ++c)
            if (csv.columns[c] == *options.label_column) return c;
        constexpr std::size_t kShownColumns = 20;
        std::string names;
        for (std::size_t c = 0; c < csv.columns.size() && c < kShownColumns; ++c)
            names += (c == 0 ? "" : ", ") + io::detail::printable(csv.columns[c], kShownBytes);
        if (csv.columns.size() > kShownColumns) names += ", … (" + std::to_string(csv.columns.size()) + " columns)";
        throw ValueError(at + ": no column named " + io::detail::quote(*options.label_column, kShownBytes) +
                         " in the header (columns: " + names + ")");
    }
    const auto count = static_cast<long long>(csv.num_columns);
    const long long index = options.label_index < 0 ? count + options.label_index : options.label_index;
    if (index < 0 || index >= count)
        throw ValueError(at + ": label_index " + std::to_string(options.label_index) + " is out of range for " +
                         std::to_string(count) + " columns");
    return static_cast<std::size_t>(index);
}

}  // namespace

CsvTable read_csv(const std::filesystem::path& path, bool header, char delimiter) {
    ParsedCsv csv = parse_csv(path, header, delimiter, "read_csv");
    const Shape shape{static_cast<std::int64_t>(csv.rows()), static_cast<std::int64_t>(csv.num_columns)};
    return {std::move(csv.columns), from_vector<double>(csv.values, shape)};
}

std::shared_ptr<TensorDataset> load_csv(const std::filesystem::path& path, const CsvOptions& options) {
    if (options.label_column && !options.header)
        throw ValueError(describe("load_csv", path) + ": label_column " +
                         io::detail::quote(*options.label_column, kShownBytes) + " needs a header (header = false)");
    const ParsedCsv csv = parse_csv(path, options.header, options.delimiter, "load_csv");
    const std::size_t label = label_position(csv, options, path);
    if (csv.num_columns < 2)
        throw IOError(describe("load_csv", path) + ": only one column, the label; there are no features");
    const std::size_t rows = csv.rows(), cols = csv.num_columns, features = cols - 1;

    Tensor inputs = empty({static_cast<std::int64_t>(rows), static_cast<std::int64_t>(features)});
    Tensor targets = empty({static_cast<std::int64_t>(rows)}, options.labels_are_classes ? DType::Int64 : DType::Float32);
    float* x = inputs.data_ptr<float>();
    for (std::size_t r = 0; r < rows; ++r) {
        const double* row = csv.values.data() + r * cols;
        for (std::size_t c = 0, f = 0; c < cols; ++c)
            if (c != label) x[r * features + f++] = static_cast<float>(row[c]);
        const double y = row[label];
        if (!options.labels_are_classes) {
            targets.data_ptr<float>()[r] = static_cast<float>(y);
            continue;
        }
        // Integers up to 2^53 are exact in a double; beyond that a label cannot be trusted anyway.
        if (!(std::floor(y) == y) || std::abs(y) > 0x1p53) {
            std::ostringstream shown;
            shown << y;
            throw IOError(describe("load_csv", path) + " line " + std::to_string(csv.row_lines[r]) + ", column " +
                          std::to_string(label + 1) + ": class label " + shown.str() +
                          " is not an integer (set labels_are_classes = false for regression targets)");
        }
        targets.data_ptr<std::int64_t>()[r] = static_cast<std::int64_t>(y);
    }
    return std::make_shared<TensorDataset>(inputs, targets);
}

}  // namespace graft::data
