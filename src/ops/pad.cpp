// functional::pad (constant, reflect, replicate), forward followed by its backward. Both walk
// the output with, per dimension, the input index each output index copies (−1 for a constant
// border): the forward gathers, the backward scatter-adds the output gradient into the input.
#include "graft/functional/pad.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/error.hpp"
#include "graft/profiler.hpp"

namespace graft::nn::functional {

namespace {

using int64 = std::int64_t;
/// maps[d][o]: the input index along dimension d that output index o copies, or −1.
using IndexMaps = std::vector<std::vector<int64>>;

const char* mode_name(PadMode mode) {
    switch (mode) {
        case PadMode::Constant: return "constant";
        case PadMode::Reflect: return "reflect";
        case PadMode::Replicate: return "replicate";
    }
    return "?";
}

std::string pads_str(const std::vector<int64>& pads) {
    std::string s = "(";
    for (std::size_t i = 0; i < pads.size(); ++i) s += (i ? ", " : "") + std::to_string(pads[i]);
    return s + ")";
}

/// The index maps of every dimension (identity where nothing is padded); ValueError for sizes
/// the mode cannot take.
IndexMaps index_maps(const Shape& shape, const std::vector<int64>& pads, PadMode mode) {
    const auto where = [&] {
        return std::string("pad: pads ") + pads_str(pads) + " in mode '" + mode_name(mode) + "' for input of shape " +
               shape_str(shape);
    };
    const int64 dims = static_cast<int64>(shape.size());
    if (pads.size() % 2 != 0) throw ValueError(where() + ": the pad sizes must come in (before, after) pairs");
    if (static_cast<int64>(pads.size()) > 2 * dims)
        throw ValueError(where() + ": " + std::to_string(pads.size() / 2) + " dimensions padded, the input has " +
                         std::to_string(dims));
    IndexMaps maps(static_cast<std::size_t>(dims));
    for (int64 d = 0; d < dims; ++d) {
        const int64 n = shape[static_cast<std::size_t>(d)];
        const int64 pair = dims - 1 - d;  // pads[2·pair], pads[2·pair + 1] pad dimension d
        int64 before = 0, after = 0;
        if (2 * pair < static_cast<int64>(pads.size())) {
            before = pads[static_cast<std::size_t>(2 * pair)];
            after = pads[static_cast<std::size_t>(2 * pair + 1)];
        }
        const int64 out = n + before + after;
        const std::string dim = " (dimension " + std::to_string(d) + " of size " + std::to_string(n) + ")";
        if (out < 0) throw ValueError(where() + ": the padded size " + std::to_string(out) + " is negative" + dim);
        if (mode != PadMode::Constant && (before < 0 || after < 0))
            throw ValueError(where() + ": negative sizes need mode 'constant'" + dim);
        if (mode == PadMode::Reflect && (before >= n || after >= n) && (before > 0 || after > 0))
            throw ValueError(where() + ": reflect padding must be smaller than the dimension it pads" + dim);
        if (mode == PadMode::Replicate && n == 0 && out > 0)
            throw ValueError(where() + ": replicate padding needs a non-empty dimension" + dim);
        auto& map = maps[static_cast<std::size_t>(d)];
        map.resize(static_cast<std::size_t>(out));
        for (int64 o = 0; o < out; ++o) {
            int64 s = o - before;
            if (mode == PadMode::Constant) {
                if (s < 0 || s >= n) s = -1;
            } else if (mode == PadMode::Reflect) {
                if (s < 0) s = -s;
                if (s >= n) s = 2 * (n - 1) - s;
            } else {
                s = std::clamp<int64>(s, 0, n - 1);
            }
            map[static_cast<std::size_t>(o)] = s;
        }
    }
    return maps;
}

Shape padded_shape(const IndexMaps& maps) {
    Shape s;
    for (const auto& m : maps) s.push_back(static_cast<int64>(m.size()));
    return s;
}

/// Calls visit(out_index, in_offset) for every output element in C order, in_offset being
/// Σ map[d][o_d]·strides[d] (element units), or −1 where some dimension reads the border.
template <class Visit>
void for_each_copy(const IndexMaps& maps, const Shape& strides, Visit&& visit) {
    const std::size_t dims = maps.size();
    int64 total = 1;
    for (const auto& m : maps) total *= static_cast<int64>(m.size());
    if (total == 0) return;
    if (dims == 0) {
        visit(int64{0}, int64{0});
        return;
    }
    std::vector<int64> idx(dims, 0);
    const auto& inner = maps[dims - 1];
    const int64 inner_stride = strides[dims - 1];
    for (int64 o = 0; o < total;) {
        int64 base = 0;
        bool border = false;
        for (std::size_t d = 0; d + 1 < dims; ++d) {
            const int64 s = maps[d][static_cast<std::size_t>(idx[d])];
            if (s < 0) border = true;
            base += s * strides[d];
        }
        for (std::size_t j = 0; j < inner.size(); ++j, ++o) {
            const int64 s = inner[j];
            visit(o, border || s < 0 ? int64{-1} : base + s * inner_stride);
        }
        for (std::size_t d = dims - 1; d-- > 0;) {
            if (++idx[d] < static_cast<int64>(maps[d].size())) break;
            idx[d] = 0;
        }
    }
}

Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size(), 1);
    for (std::size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
    return strides;
}

// out[o] = x[map(o)] (or the constant)  ⇒  dx[i] = Σ over o with map(o) = i of dout[o]
struct PadBackward final : Node {
    PadBackward(IndexMaps m, Shape s) : maps(std::move(m)), input_shape(std::move(s)) {}
    const char* name() const override { return "PadBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor gc = g.contiguous();
        Tensor dx = zeros(input_shape, g.dtype());
        detail::dispatch_floating(g.dtype(), name(), [&]<class T>() {
            const T* gp = gc.data_ptr<T>();
            T* d = dx.data_ptr<T>();
            for_each_copy(maps, contiguous_strides(input_shape), [&](int64 o, int64 i) {
                if (i >= 0) d[i] += gp[o];
            });
        });
        return {dx};
    }
    IndexMaps maps;
    Shape input_shape;
};

}  // namespace

Tensor pad(const Tensor& input, const std::vector<std::int64_t>& pads, PadMode mode, double value) {
    GRAFT_PROFILE_SCOPE("pad");
    IndexMaps maps = index_maps(input.shape(), pads, mode);
    const Shape out_shape = padded_shape(maps);
    Tensor out = detail::dispatch_numeric(input.dtype(), "pad", [&]<class T>() {
        Tensor y = empty(out_shape, input.dtype());
        T* o = y.data_ptr<T>();
        const T* in = detail::storage_ptr<T>(input) + input.offset();
        const T fill = static_cast<T>(value);
        for_each_copy(maps, input.strides(), [&](int64 oi, int64 i) { o[oi] = i >= 0 ? in[i] : fill; });
        return y;
    });
    autograd::make_node<PadBackward>({&input}, out, std::move(maps), input.shape());
    return out;
}

}  // namespace graft::nn::functional
