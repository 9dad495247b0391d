// collate_text: TextDataset samples → one batch padded to its longest sample.
#include <algorithm>
#include <cstring>
#include <string>

#include "graft/data/text_dataset.hpp"

namespace graft::data {

Example collate_text(const std::vector<Example>& samples, std::int64_t pad_id) {
    if (samples.empty()) throw ValueError("collate_text: no samples to pad");
    const bool labelled = samples[0].target.defined();
    std::int64_t longest = 0;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const Example& s = samples[i];
        const auto types = s.fields.find("token_type_ids");
        if (!s.input.defined() || s.input.dim() != 1 || s.input.dtype() != DType::Int64)
            throw ValueError("collate_text: sample " + std::to_string(i) + "'s input is not 1-d int64 token ids");
        if (types == s.fields.end() || types->second.shape() != s.input.shape() ||
            types->second.dtype() != DType::Int64)
            throw ValueError("collate_text: sample " + std::to_string(i) +
                             " lacks int64 token_type_ids shaped as its ids (TextDataset samples have them)");
        if (s.target.defined() != labelled)
            throw ValueError("collate_text: sample " + std::to_string(i) + (labelled ? " has no label" : " has a label") +
                             " but sample 0 " + (labelled ? "has one" : "has none"));
        longest = std::max(longest, s.input.size(0));
    }
    const auto batch = static_cast<std::int64_t>(samples.size());
    Example out;
    out.input = full({batch, longest}, static_cast<double>(pad_id), DType::Int64);
    Tensor mask = zeros({batch, longest}, DType::Int64);
    Tensor types = zeros({batch, longest}, DType::Int64);
    Tensor labels = labelled ? empty({batch}, DType::Int64) : Tensor();
    auto* ids_p = out.input.data_ptr<std::int64_t>();
    auto* mask_p = mask.data_ptr<std::int64_t>();
    auto* types_p = types.data_ptr<std::int64_t>();
    for (std::int64_t b = 0; b < batch; ++b) {
        const Example& s = samples[static_cast<std::size_t>(b)];
        const Tensor ids = s.input.contiguous();
        const Tensor tt = s.fields.at("token_type_ids").contiguous();
        const std::int64_t len = ids.size(0);
        std::memcpy(ids_p + b * longest, ids.data_ptr<std::int64_t>(), static_cast<std::size_t>(len) * 8);
        std::memcpy(types_p + b * longest, tt.data_ptr<std::int64_t>(), static_cast<std::size_t>(len) * 8);
        std::fill(mask_p + b * longest, mask_p + b * longest + len, std::int64_t{1});
        if (labelled) labels.data_ptr<std::int64_t>()[b] = s.target.to(DType::Int64).item<std::int64_t>();
    }
    out.target = labels;
    out.fields.emplace("attention_mask", std::move(mask));
    out.fields.emplace("token_type_ids", std::move(types));
    return out;
}

std::function<Example(const std::vector<Example>&)> text_collate(std::int64_t pad_id) {
    return [pad_id](const std::vector<Example>& samples) { return collate_text(samples, pad_id); };
}

}  // namespace graft::data
