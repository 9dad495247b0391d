// Internal: planning a reduction as rows of contiguous elements.
#pragma once

#include <optional>
#include <vector>

#include "graft/tensor.hpp"

namespace graft::detail {

/// A reduction over `dims` of x, laid out as `outer` contiguous rows of `inner` elements each
/// (the reduced dims moved last and made contiguous).
struct ReducePlan {
    Tensor rows;          // contiguous, numel = outer · inner (undefined until materialise_rows)
    std::int64_t outer;   // number of results
    std::int64_t inner;   // elements reduced into each result
    Shape out_shape;      // result shape (keepdim honoured)
    Shape keep_shape;     // result shape with reduced dims kept as 1
    std::vector<bool> reduced;  // per input dim
    std::vector<std::int64_t> perm;  // the kept dims, then the reduced ones: rows = x.permute(perm)
};

/// Empty dims means all dims. Negative dims wrap; repeated dims are an error naming `op`.
ReducePlan plan_reduction(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, const char* op);
/// plan_reduction without the rows, for ops that may read x in place (see InPlaceLayout).
ReducePlan plan_reduction_shapes(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, const char* op);
/// Fills p.rows from x: a copy, unless x is contiguous with the reduced dims already last.
void materialise_rows(ReducePlan& p, const Tensor& x);

/// A contiguous x read in place by a reduction: its dims, neighbours of the same kind merged and
/// dims of size 1 skipped, are [K0,] R, K (Columns) or [K0,] R0, K, R1 (RowsThenColumns), with K0 = 1
/// when absent and R, R0 reduced. The results are [outer = K0, inner = K].
struct InPlaceLayout {
    enum class Kind { Columns, RowsThenColumns } kind;
    std::int64_t outer;       // K0
    std::int64_t rows;        // R (Columns) or R0 (RowsThenColumns)
    std::int64_t inner;       // K
    std::int64_t row_length;  // R1 (RowsThenColumns), 1 for Columns
};
/// The layout, or nothing when x is not contiguous, is empty, or its reduced dims are last
/// (plan_reduction's rows need no copy then) or form other patterns.
std::optional<InPlaceLayout> in_place_layout(const Tensor& x, const std::vector<bool>& reduced);

/// float32 x read in place through layout l: per result (o, k) the mean over its elements and
/// m2 = Σ (x − mean)², in double: the column kernels down x as [outer, rows, inner·row_length], then
/// each result's row_length columns added in order.
void float32_mean_and_m2(const Tensor& x, const InPlaceLayout& l, std::vector<double>& mean, std::vector<double>& m2);

/// float32: the p.outer sums of the reduction in double, read in place when in_place_layout allows
/// (column sums; or row sums, then column sums of those), else from p.rows (materialised here).
std::vector<double> float32_sums(const Tensor& x, ReducePlan& p);

}  // namespace graft::detail
