// graft/data/text_dataset.hpp — labelled texts tokenized once, batched with dynamic padding.
//
//   auto tok = tokenizers::Tokenizer::from_file("tokenizer.json");
//   auto train = data::TextDataset::from_file("train.csv", tok, {.labels = data::LabelKind::Names,
//                                                              .cache_dir = "cache"});
//   auto valid = data::TextDataset::from_file("valid.jsonl", tok, {.labels = data::LabelKind::Names,
//                                                                .label_map = train->label_map()});
//   data::DataLoader loader(train, {.batch_size = 32, .collate = data::text_collate(tok.pad_id()),
//                                   .order = data::length_buckets(train->lengths(), 32, {.seed = 1})});
//   for (const auto& b : loader)
//       model.forward(b.input, b.fields.at("attention_mask"), b.fields.at("token_type_ids"));   // labels: b.target
//
// The file is read with read_text_table (graft/data/text_table.hpp: CSV/TSV with RFC 4180
// quoting, JSON Lines). Every text is encoded once, with the tokenizer's special tokens and cut to
// max_length tokens (special tokens kept), in parallel on all threads, and held in memory. With a
// cache_dir the ids are also written there, keyed by the file's size and modification time, the
// tokenizer's content (a hash of its tokenizer.json) and the options that shape the ids; a later
// from_file with the same key reads them instead of tokenizing, and any change of key tokenizes
// again and rewrites the cache.
//
// Labels: LabelKind::Integers reads each label as a class id (IOError naming file, line and the
// value unless it is an integer ≥ 0); LabelKind::Names maps label strings to ids through a
// LabelMap: the one given (an unknown label is an IOError naming file, line and label), else one
// built from the file's distinct labels in sorted order, exposed by label_map() for the
// validation file. get(i) gives input = ids int64 [L_i], target = the label (0-d int64, undefined
// when the file has no labels) and fields["token_type_ids"] int64 [L_i].
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graft/data/dataset.hpp"
#include "graft/data/text_table.hpp"
#include "graft/tokenizers/tokenizer.hpp"

namespace graft::data {

/// Class names ↔ class ids 0…n−1.
class LabelMap {
public:
    LabelMap() = default;
    /// ValueError naming the label when one appears twice.
    explicit LabelMap(std::vector<std::string> names);
    /// The id of `name`, or nullopt.
    std::optional<std::int64_t> find(std::string_view name) const;
    /// The name of class `id` (IndexError outside 0…size()−1).
    const std::string& name(std::int64_t id) const;
    const std::vector<std::string>& names() const { return names_; }
    std::size_t size() const { return names_.size(); }
    bool empty() const { return names_.empty(); }

private:
    std::vector<std::string> names_;
};

enum class LabelKind {
    Integers,  ///< labels are class ids written as integers ≥ 0
    Names,     ///< labels are class names mapped through a LabelMap
};

struct TextDatasetOptions {
    /// The file's format and columns (text_field, label_field; label_field empty: unlabelled).
    TextTableOptions table = {};
    LabelKind labels = LabelKind::Integers;
    /// LabelKind::Names: the mapping to use (the training set's); empty: built from this file.
    LabelMap label_map = {};
    /// Longest encoding kept, special tokens included (≥ 2).
    std::size_t max_length = 512;
    /// A directory for the on-disk token cache (created when missing); empty: memory only.
    std::filesystem::path cache_dir = {};
};

/// Texts and labels, tokenized; see the header comment.
class TextDataset final : public Dataset {
public:
    /// Reads `path` (read_text_table), maps its labels and tokenizes (or reads the cache).
    /// Errors name the file, the line and the column, field or label.
    static std::shared_ptr<TextDataset> from_file(const std::filesystem::path& path,
                                                  const tokenizers::Tokenizer& tokenizer,
                                                  const TextDatasetOptions& options = {});
    /// Texts in memory with their class ids (`labels` empty: unlabelled; else one per text, each
    /// ≥ 0 and below label_map.size() when label_map is given). ValueError naming the text otherwise.
    TextDataset(const std::vector<std::string>& texts, std::vector<std::int64_t> labels,
                const tokenizers::Tokenizer& tokenizer, std::size_t max_length = 512, LabelMap label_map = {});

    std::size_t size() const override { return offsets_.size() - 1; }
    Example get(std::size_t index) const override;

    /// Tokens per example (special tokens included): what length_buckets sorts by.
    const std::vector<std::size_t>& lengths() const { return lengths_; }
    /// Class ids, one per example (empty when unlabelled).
    const std::vector<std::int64_t>& labels() const { return labels_; }
    /// The names of the class ids (LabelKind::Names), else empty.
    const LabelMap& label_map() const { return label_map_; }
    /// Number of classes: label_map's size, else the largest id + 1 (0 when unlabelled).
    std::size_t num_classes() const;
    /// The ids of example `index` (a copy).
    std::vector<std::int64_t> ids(std::size_t index) const;
    /// True when from_file read the ids from its cache instead of tokenizing.
    bool loaded_from_cache() const { return from_cache_; }

private:
    TextDataset() = default;
    void tokenize(const std::vector<std::string>& texts, const tokenizers::Tokenizer& tokenizer, std::size_t max_length);
    void finish();

    std::vector<std::int64_t> ids_;        // every example's ids, concatenated
    std::vector<std::int64_t> type_ids_;   // likewise, the token type ids
    std::vector<std::size_t> offsets_{0};  // example i: [offsets_[i], offsets_[i+1])
    std::vector<std::size_t> lengths_;
    std::vector<std::int64_t> labels_;
    LabelMap label_map_;
    bool from_cache_ = false;
};

/// Pads a batch of TextDataset samples to its longest: input = input_ids [B, T] (pad_id after each
/// text), fields "attention_mask" (1 on tokens, 0 on padding) and "token_type_ids" [B, T], all
/// int64; target = labels [B] (undefined when unlabelled). ValueError for no samples, a sample
/// that is not 1-d int64 or lacks token_type_ids, or mixed labelled/unlabelled samples.
Example collate_text(const std::vector<Example>& samples, std::int64_t pad_id);
/// collate_text with `pad_id`, for DataLoaderOptions::collate.
std::function<Example(const std::vector<Example>&)> text_collate(std::int64_t pad_id);

}  // namespace graft::data
