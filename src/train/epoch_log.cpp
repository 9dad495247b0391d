// CSV and JSONL per-epoch logs for the Trainer.
#include "train/epoch_log.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "graft/error.hpp"

namespace graft::train::detail {

namespace {

std::string number(double v, bool json) {
    if (!std::isfinite(v)) return json ? "null" : (std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

std::vector<std::string> split_csv_header(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) out.push_back(cell);
    return out;
}

}  // namespace

EpochLogWriter::EpochLogWriter(std::filesystem::path path, Format format)
    : path_(std::move(path)), format_(format) {}

void EpochLogWriter::write(const EpochLogs& logs, bool fresh) {
    const bool exists = !fresh && std::filesystem::exists(path_) && std::filesystem::file_size(path_) > 0;
    if (format_ == Format::Csv && columns_.empty()) {
        if (exists) {
            std::ifstream in(path_);
            std::string header;
            std::getline(in, header);
            columns_ = split_csv_header(header);
        }
    }
    std::ofstream out(path_, exists ? std::ios::app : std::ios::trunc);
    if (!out) throw IOError("Trainer: cannot open the log file " + path_.string() + " for writing");
    if (format_ == Format::Csv) {
        if (!exists) {
            columns_ = {"epoch"};
            for (const auto& [key, value] : logs.values)
                if (key != "epoch") columns_.push_back(key);
            for (std::size_t i = 0; i < columns_.size(); ++i) out << (i ? "," : "") << columns_[i];
            out << "\n";
        }
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            out << (i ? "," : "");
            if (columns_[i] == "epoch") out << logs.epoch;
            else if (logs.contains(columns_[i])) out << number(logs.at(columns_[i]), false);
        }
        out << "\n";
    } else {
        out << "{\"epoch\": " << logs.epoch;
        for (const auto& [key, value] : logs.values)
            if (key != "epoch") out << ", \"" << key << "\": " << number(value, true);
        out << "}\n";
    }
    out.flush();
    if (!out) throw IOError("Trainer: writing the log file " + path_.string() + " failed");
}

}  // namespace graft::train::detail
