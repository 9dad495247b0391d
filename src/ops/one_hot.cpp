// one_hot: class indices [...] → int64 [..., num_classes] with a 1 at each index (torch.nn.functional.one_hot).
#include <algorithm>
#include <string>

#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/read_indices.hpp"

namespace graft {

Tensor one_hot(const Tensor& indices, std::int64_t num_classes) {
    GRAFT_PROFILE_SCOPE("one_hot");
    const std::vector<std::int64_t> idx = detail::read_indices(indices, "one_hot");
    if (num_classes < -1)
        throw ValueError("one_hot: num_classes must be -1 (inferred) or at least 0, got " +
                         std::to_string(num_classes));
    if (num_classes == -1) {
        if (idx.empty())
            throw ValueError("one_hot: cannot infer num_classes from an empty tensor " + shape_str(indices.shape()) +
                             "; pass it");
        num_classes = *std::max_element(idx.begin(), idx.end()) + 1;
    }
    for (std::size_t p = 0; p < idx.size(); ++p)
        if (idx[p] < 0 || idx[p] >= num_classes)
            throw IndexError("one_hot: index " + std::to_string(idx[p]) + " at flat position " + std::to_string(p) +
                             " of indices " + shape_str(indices.shape()) + " is out of range for " +
                             std::to_string(num_classes) + " classes");
    Shape shape = indices.shape();
    shape.push_back(num_classes);
    Tensor out = zeros(shape, DType::Int64);
    std::int64_t* o = out.data_ptr<std::int64_t>();
    for (std::size_t p = 0; p < idx.size(); ++p) o[static_cast<std::int64_t>(p) * num_classes + idx[p]] = 1;
    return out;
}

}  // namespace graft
