// TextDataset: label mapping, tokenization (encode_batch in chunks, all threads) and the
// examples it serves. The on-disk cache is src/data/token_cache.cpp.
#include "graft/data/text_dataset.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "data/token_cache.hpp"
#include "io/printable.hpp"

namespace graft::data {

// ---- LabelMap ------------------------------------------------------------------------------

LabelMap::LabelMap(std::vector<std::string> names) : names_(std::move(names)) {
    std::set<std::string_view> seen;
    for (const auto& n : names_)
        if (!seen.insert(n).second) throw ValueError("LabelMap: the label " + io::detail::quote(n) + " appears twice");
}

std::optional<std::int64_t> LabelMap::find(std::string_view name) const {
    const auto it = std::find(names_.begin(), names_.end(), name);
    if (it == names_.end()) return std::nullopt;
    return static_cast<std::int64_t>(it - names_.begin());
}

const std::string& LabelMap::name(std::int64_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= names_.size())
        throw IndexError("LabelMap::name: class id " + std::to_string(id) + " is out of range for " +
                         std::to_string(names_.size()) + " classes");
    return names_[static_cast<std::size_t>(id)];
}

// ---- TextDataset ---------------------------------------------------------------------------

namespace {

/// Texts encoded per call of encode_batch (unpadded: the dataset keeps the rows).
constexpr std::size_t kChunk = 512;

std::string where(const TextTable& table, std::size_t row) {
    return "TextDataset: " + io::detail::quote(table.path.string()) + ", line " + std::to_string(table.lines[row]);
}

std::vector<std::int64_t> map_labels(const TextTable& table, const TextDatasetOptions& options, LabelMap& map) {
    std::vector<std::int64_t> ids;
    ids.reserve(table.labels.size());
    const std::string field = io::detail::quote(options.table.label_field);
    if (options.labels == LabelKind::Integers) {
        for (std::size_t r = 0; r < table.labels.size(); ++r) {
            const std::string& s = table.labels[r];
            std::int64_t value = -1;
            const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
            if (ec != std::errc() || end != s.data() + s.size() || value < 0)
                throw IOError(where(table, r) + ", field " + field + ": the label " + io::detail::quote(s, 40) +
                              " is not a class id (an integer ≥ 0); LabelKind::Names maps names to ids");
            ids.push_back(value);
        }
        return ids;
    }
    map = options.label_map;
    if (map.empty()) {
        const std::set<std::string> distinct(table.labels.begin(), table.labels.end());
        map = LabelMap(std::vector<std::string>(distinct.begin(), distinct.end()));
    }
    for (std::size_t r = 0; r < table.labels.size(); ++r) {
        const auto id = map.find(table.labels[r]);
        if (!id) {
            std::string known;
            for (std::size_t i = 0; i < map.size() && i < 20; ++i)
                known += (i ? ", " : "") + io::detail::quote(map.names()[i], 40);
            if (map.size() > 20) known += ", …";
            throw IOError(where(table, r) + ", field " + field + ": unknown label " +
                          io::detail::quote(table.labels[r], 60) + " (the label map has " + known + ")");
        }
        ids.push_back(*id);
    }
    return ids;
}

}  // namespace

std::shared_ptr<TextDataset> TextDataset::from_file(const std::filesystem::path& path,
                                                    const tokenizers::Tokenizer& tokenizer,
                                                    const TextDatasetOptions& options) {
    if (options.max_length < 2)
        throw ValueError("TextDataset: max_length must be at least 2, got " + std::to_string(options.max_length));
    const TextTable table = read_text_table(path, options.table);
    std::shared_ptr<TextDataset> ds(new TextDataset());
    ds->labels_ = map_labels(table, options, ds->label_map_);

    std::optional<detail::TokenCacheKey> key;
    if (!options.cache_dir.empty()) {
        key = detail::token_cache_key(path, tokenizer, options);
        if (auto cached = detail::read_token_cache(options.cache_dir, *key); cached && cached->lengths.size() == table.texts.size()) {
            ds->ids_ = std::move(cached->ids);
            ds->type_ids_ = std::move(cached->type_ids);
            ds->lengths_ = std::move(cached->lengths);
            ds->from_cache_ = true;
            ds->finish();
            return ds;
        }
    }
    try {
        ds->tokenize(table.texts, tokenizer, options.max_length);
    } catch (Error& e) {
        // Find the record: encode_batch names the text by its index in the chunk only.
        for (std::size_t r = 0; r < table.texts.size(); ++r) {
            try {
                (void)tokenizer.encode(table.texts[r]);
            } catch (Error& inner) {
                inner.add_context(where(table, r) + ", field " + io::detail::quote(options.table.text_field));
                throw;
            }
        }
        throw;
    }
    if (key) detail::write_token_cache(options.cache_dir, *key, ds->ids_, ds->type_ids_, ds->lengths_);
    return ds;
}

TextDataset::TextDataset(const std::vector<std::string>& texts, std::vector<std::int64_t> labels,
                         const tokenizers::Tokenizer& tokenizer, std::size_t max_length, LabelMap label_map)
    : labels_(std::move(labels)), label_map_(std::move(label_map)) {
    if (max_length < 2) throw ValueError("TextDataset: max_length must be at least 2, got " + std::to_string(max_length));
    if (!labels_.empty() && labels_.size() != texts.size())
        throw ValueError("TextDataset: " + std::to_string(labels_.size()) + " labels for " + std::to_string(texts.size()) +
                         " texts");
    for (std::size_t i = 0; i < labels_.size(); ++i)
        if (labels_[i] < 0 || (!label_map_.empty() && static_cast<std::size_t>(labels_[i]) >= label_map_.size()))
            throw ValueError("TextDataset: text " + std::to_string(i) + " has label " + std::to_string(labels_[i]) +
                             (label_map_.empty() ? ", below 0"
                                                 : ", outside the label map's 0…" + std::to_string(label_map_.size() - 1)));
    tokenize(texts, tokenizer, max_length);
}

void TextDataset::tokenize(const std::vector<std::string>& texts, const tokenizers::Tokenizer& tokenizer,
                           std::size_t max_length) {
    ids_.clear();
    type_ids_.clear();
    lengths_.clear();
    lengths_.reserve(texts.size());
    tokenizers::BatchOptions batch_options;
    batch_options.padding = tokenizers::Padding::None;
    batch_options.truncation = true;
    batch_options.max_length = max_length;
    for (std::size_t first = 0; first < texts.size(); first += kChunk) {
        const std::size_t last = std::min(texts.size(), first + kChunk);
        const std::vector<std::string> chunk(texts.begin() + static_cast<std::ptrdiff_t>(first),
                                             texts.begin() + static_cast<std::ptrdiff_t>(last));
        const tokenizers::BatchEncoding batch = tokenizer.encode_batch(chunk, batch_options);
        for (const auto& enc : batch.encodings) {
            ids_.insert(ids_.end(), enc.ids.begin(), enc.ids.end());
            type_ids_.insert(type_ids_.end(), enc.type_ids.begin(), enc.type_ids.end());
            lengths_.push_back(enc.ids.size());
        }
    }
    finish();
}

void TextDataset::finish() {
    offsets_.assign(1, 0);
    offsets_.reserve(lengths_.size() + 1);
    for (std::size_t len : lengths_) offsets_.push_back(offsets_.back() + len);
}

std::size_t TextDataset::num_classes() const {
    if (!label_map_.empty()) return label_map_.size();
    if (labels_.empty()) return 0;
    return static_cast<std::size_t>(*std::max_element(labels_.begin(), labels_.end())) + 1;
}

std::vector<std::int64_t> TextDataset::ids(std::size_t index) const {
    check_index(index, size(), "TextDataset::ids");
    return {ids_.begin() + static_cast<std::ptrdiff_t>(offsets_[index]),
            ids_.begin() + static_cast<std::ptrdiff_t>(offsets_[index + 1])};
}

Example TextDataset::get(std::size_t index) const {
    check_index(index, size(), "TextDataset::get");
    const auto begin = static_cast<std::ptrdiff_t>(offsets_[index]);
    const auto end = static_cast<std::ptrdiff_t>(offsets_[index + 1]);
    const auto len = static_cast<std::int64_t>(end - begin);
    Example ex;
    ex.input = from_vector(std::vector<std::int64_t>(ids_.begin() + begin, ids_.begin() + end), {len});
    ex.fields.emplace("token_type_ids",
                      from_vector(std::vector<std::int64_t>(type_ids_.begin() + begin, type_ids_.begin() + end), {len}));
    if (!labels_.empty()) ex.target = scalar_tensor(static_cast<double>(labels_[index]), DType::Int64);
    return ex;
}

}  // namespace graft::data
