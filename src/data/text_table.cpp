// read_text_table: RFC 4180 CSV/TSV records and JSON Lines objects → text and label columns.
// Every error names the file, the line and the column or field.
#include "graft/data/text_table.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graft/error.hpp"
#include "io/printable.hpp"
#include "io/read_text.hpp"

namespace graft::data {

namespace {

constexpr const char* kWho = "read_text_table";

std::string where(const std::filesystem::path& path, std::size_t line) {
    return std::string(kWho) + ": " + io::detail::quote(path.string()) + ", line " + std::to_string(line);
}

/// One CSV record: its fields and the line it starts on.
struct Record {
    std::vector<std::string> fields;
    std::size_t line = 0;
};

/// Splits `text` into RFC 4180 records. Blank lines (outside quotes) are skipped.
std::vector<Record> parse_delimited(std::string_view text, char delimiter, const std::filesystem::path& path) {
    std::vector<Record> records;
    std::size_t pos = 0;
    std::size_t line = 1;
    const std::size_t n = text.size();
    while (pos < n) {
        // A blank line ("\n" or "\r\n") is no record.
        if (text[pos] == '\n') {
            ++pos;
            ++line;
            continue;
        }
        if (text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n') {
            pos += 2;
            ++line;
            continue;
        }
        Record record;
        record.line = line;
        while (true) {  // one field per iteration
            const std::size_t column = record.fields.size() + 1;
            std::string field;
            if (pos < n && text[pos] == '"') {
                const std::size_t quote_line = line;
                ++pos;
                bool closed = false;
                while (pos < n) {
                    const char c = text[pos];
                    if (c == '"') {
                        if (pos + 1 < n && text[pos + 1] == '"') {
                            field += '"';
                            pos += 2;
                            continue;
                        }
                        ++pos;
                        closed = true;
                        break;
                    }
                    if (c == '\n') ++line;
                    field += c;
                    ++pos;
                }
                if (!closed)
                    throw IOError(where(path, quote_line) + ", column " + std::to_string(column) +
                                  ": the quoted field is never closed");
                if (pos < n && text[pos] != delimiter && text[pos] != '\n' &&
                    !(text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n'))
                    throw IOError(where(path, line) + ", column " + std::to_string(column) + ": " +
                                  io::detail::quote(std::string_view(&text[pos], 1)) +
                                  " after the closing quote (a quoted field must end at a delimiter or line end)");
            } else {
                while (pos < n && text[pos] != delimiter && text[pos] != '\n') {
                    if (text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n') break;
                    if (text[pos] == '"')
                        throw IOError(where(path, line) + ", column " + std::to_string(column) +
                                      ": a quote inside an unquoted field (quote the whole field and double the quote)");
                    field += text[pos];
                    ++pos;
                }
            }
            record.fields.push_back(std::move(field));
            if (pos < n && text[pos] == delimiter) {
                ++pos;
                continue;
            }
            if (pos < n && text[pos] == '\r') ++pos;
            if (pos < n && text[pos] == '\n') {
                ++pos;
                ++line;
            }
            break;
        }
        records.push_back(std::move(record));
    }
    return records;
}

/// The position of `name` among the columns; ValueError listing them when absent.
std::size_t column_index(const std::vector<std::string>& columns, const std::string& name,
                         const std::filesystem::path& path, const char* which) {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it != columns.end()) return static_cast<std::size_t>(it - columns.begin());
    std::string names;
    for (const auto& c : columns) names += (names.empty() ? "" : ", ") + io::detail::quote(c, 40);
    throw ValueError(std::string(kWho) + ": " + io::detail::quote(path.string()) + ": no " + which + " column " +
                     io::detail::quote(name) + " (columns: " + names + ")");
}

TextTable read_delimited(std::string_view text, char delimiter, const std::filesystem::path& path,
                         const TextTableOptions& options) {
    std::vector<Record> records = parse_delimited(text, delimiter, path);
    TextTable table;
    table.path = path;
    if (records.empty()) throw IOError(std::string(kWho) + ": " + io::detail::quote(path.string()) + ": no records");
    const std::size_t width = records[0].fields.size();
    std::vector<std::string> columns;
    if (options.header) {
        columns = records[0].fields;
    } else {
        for (std::size_t i = 0; i < width; ++i) columns.push_back(std::to_string(i));
    }
    const std::size_t text_col = column_index(columns, options.text_field, path, "text");
    std::optional<std::size_t> label_col;
    if (!options.label_field.empty()) label_col = column_index(columns, options.label_field, path, "label");
    for (std::size_t r = options.header ? 1 : 0; r < records.size(); ++r) {
        Record& rec = records[r];
        if (rec.fields.size() != width)
            throw IOError(where(path, rec.line) + ": " + std::to_string(rec.fields.size()) + " fields, but " +
                          (options.header ? "the header has " : "the first record has ") + std::to_string(width));
        table.texts.push_back(std::move(rec.fields[text_col]));
        if (label_col) table.labels.push_back(std::move(rec.fields[*label_col]));
        table.lines.push_back(rec.line);
    }
    return table;
}

TextTable read_jsonl(std::string_view text, const std::filesystem::path& path, const TextTableOptions& options) {
    TextTable table;
    table.path = path;
    std::size_t pos = 0;
    std::size_t line = 0;
    while (pos < text.size()) {
        ++line;
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view row = text.substr(pos, end - pos);
        pos = end + 1;
        if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
        if (row.find_first_not_of(" \t") == std::string_view::npos) continue;
        nlohmann::json object;
        try {
            object = nlohmann::json::parse(row);
        } catch (const nlohmann::json::parse_error& e) {
            // e.byte: the 1-based column where the parser stopped (the end of the offending token).
            // Its message counts lines within the one row, so only its description is kept.
            std::string what = e.what();
            if (const std::size_t dash = what.find(" - "); dash != std::string::npos) what = what.substr(dash + 3);
            throw IOError(where(path, line) + ", column " + std::to_string(e.byte) + ": not valid JSON (" + what + ")");
        }
        if (!object.is_object())
            throw IOError(where(path, line) + ": not a JSON object but " + object.type_name());
        const auto text_it = object.find(options.text_field);
        if (text_it == object.end())
            throw IOError(where(path, line) + ": no field " + io::detail::quote(options.text_field));
        if (!text_it->is_string())
            throw IOError(where(path, line) + ", field " + io::detail::quote(options.text_field) + ": " +
                          text_it->type_name() + ", not a string");
        table.texts.push_back(text_it->get<std::string>());
        if (!options.label_field.empty()) {
            const auto label_it = object.find(options.label_field);
            if (label_it == object.end())
                throw IOError(where(path, line) + ": no field " + io::detail::quote(options.label_field));
            if (label_it->is_string())
                table.labels.push_back(label_it->get<std::string>());
            else if (label_it->is_number_integer())
                table.labels.push_back(label_it->dump());
            else
                throw IOError(where(path, line) + ", field " + io::detail::quote(options.label_field) + ": " +
                              label_it->type_name() + " (" + io::detail::printable(label_it->dump(), 40) +
                              "), not a string or an integer");
        }
        table.lines.push_back(line);
    }
    return table;
}

}  // namespace

TextFormat resolve_text_format(const std::filesystem::path& path, TextFormat format) {
    if (format != TextFormat::Auto) return format;
    std::filesystem::path name = path.filename();
    if (name.extension() == ".gz") name = name.stem();
    std::string ext = name.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".csv") return TextFormat::Csv;
    if (ext == ".tsv" || ext == ".tab") return TextFormat::Tsv;
    if (ext == ".jsonl" || ext == ".ndjson") return TextFormat::Jsonl;
    throw ValueError(std::string(kWho) + ": " + io::detail::quote(path.string()) +
                     ": cannot tell the format from the extension (.csv, .tsv, .tab, .jsonl, .ndjson); set options.format");
}

TextTable read_text_table(const std::filesystem::path& path, const TextTableOptions& options) {
    const TextFormat format = resolve_text_format(path, options.format);
    const std::string text = io::detail::read_text_file(path, kWho);
    if (format == TextFormat::Jsonl) return read_jsonl(text, path, options);
    return read_delimited(text, format == TextFormat::Tsv ? '\t' : ',', path, options);
}

}  // namespace graft::data
