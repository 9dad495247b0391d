// nn::checkpoint_sequential: a Sequential's children in segments, each but the last checkpointed.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graft/autograd/checkpoint.hpp"
#include "graft/error.hpp"
#include "graft/nn/checkpoint.hpp"

namespace graft::nn {

namespace {

using NamedChild = std::pair<std::string, std::shared_ptr<Module>>;

/// Runs `children` on x in order; an error names the child's path, as Sequential::forward does.
Tensor run_children(const std::vector<NamedChild>& children, const Tensor& x) {
    Tensor h = x;
    for (const auto& [name, child] : children)
        h = with_module_path(name, *child, [&] { return child->forward(h); });
    return h;
}

}  // namespace

Tensor checkpoint_sequential(Sequential& seq, std::int64_t segments, const Tensor& x) {
    const auto count = static_cast<std::int64_t>(seq.size());
    if (segments < 1 || segments > count)
        throw ValueError("checkpoint_sequential: " + std::to_string(segments) +
                         " segments for a Sequential of " + std::to_string(count) +
                         " children; it takes 1 to the number of children");
    const auto named = seq.named_children();
    const std::vector<NamedChild> children(named.begin(), named.end());
    Tensor h = x;
    std::int64_t begin = 0;
    for (std::int64_t s = 0; s < segments; ++s) {
        const std::int64_t length = count / segments + (s < count % segments ? 1 : 0);
        std::vector<NamedChild> segment(children.begin() + begin, children.begin() + begin + length);
        begin += length;
        if (s + 1 == segments)
            h = run_children(segment, h);
        else
            h = autograd::checkpoint([segment = std::move(segment)](const Tensor& in) { return run_children(segment, in); },
                                     h);
    }
    return h;
}

}  // namespace graft::nn
