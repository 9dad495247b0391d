// Per-epoch logs written by the Trainer: CSV (a header row, then one row per epoch) and JSONL
// (one JSON object per epoch). A fit starting at epoch 0 truncates the file; a resumed fit appends
// to it, keeping the columns of the header already there.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "graft/train/callback.hpp"

namespace graft::train::detail {

class EpochLogWriter {
public:
    enum class Format { Csv, Jsonl };
    EpochLogWriter(std::filesystem::path path, Format format);
    /// Appends one epoch; `fresh` (the first epoch of a run from scratch) truncates the file first.
    /// IOError naming the file when it cannot be written.
    void write(const EpochLogs& logs, bool fresh);

private:
    std::filesystem::path path_;
    Format format_;
    std::vector<std::string> columns_;  // CSV: fixed by the header
};

}  // namespace graft::train::detail
