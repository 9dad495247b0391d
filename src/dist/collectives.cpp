// Collectives on tensors and scalars, and the cross-rank model check (graft/dist/collectives.hpp).
#include "graft/dist/collectives.hpp"

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "dist/mpi_call.hpp"
#include "graft/autograd.hpp"

namespace graft::dist {

namespace {
MPI_Datatype mpi_type(const Tensor& t, const char* op) {
    switch (t.dtype()) {
        case DType::Float32: return MPI_FLOAT;
        case DType::Float64: return MPI_DOUBLE;
        case DType::Int32: return MPI_INT32_T;
        case DType::Int64: return MPI_INT64_T;
        default:
            throw DTypeError(std::string(op) + ": dtype " + dtype_name(t.dtype()) +
                             " is not supported (float32, float64, int32, int64)");
    }
}

void require_contiguous(const Tensor& t, const char* op) {
    if (!t.defined()) throw ValueError(std::string(op) + ": the tensor is undefined");
    if (!t.is_contiguous())
        throw ValueError(std::string(op) + ": the tensor of shape " + shape_str(t.shape()) +
                         " must be contiguous (call .contiguous() first)");
}

MPI_Op mpi_op(ReduceOp op) {
    switch (op) {
        case ReduceOp::Max: return MPI_MAX;
        case ReduceOp::Min: return MPI_MIN;
        default: return MPI_SUM;
    }
}

/// Broadcasts a string from `root` (length, then bytes).
std::string broadcast_string(std::string text, int root, MPI_Comm comm, const std::string& what) {
    long long length = static_cast<long long>(text.size());
    MPI_Request request;
    detail::check(MPI_Ibcast(&length, 1, MPI_LONG_LONG, root, comm, &request), what);
    detail::wait(request, what);
    text.resize(static_cast<std::size_t>(length));
    detail::check(MPI_Ibcast(text.data(), static_cast<int>(length), MPI_CHAR, root, comm, &request), what);
    detail::wait(request, what);
    return text;
}

long long all_reduce_integer(long long value, MPI_Op op, MPI_Comm comm, const std::string& what) {
    MPI_Request request;
    detail::check(MPI_Iallreduce(MPI_IN_PLACE, &value, 1, MPI_LONG_LONG, op, comm, &request), what);
    detail::wait(request, what);
    return value;
}

std::string describe(const std::pair<std::string, Tensor>& entry) {
    return "'" + entry.first + "' " + shape_str(entry.second.shape());
}
}  // namespace

void all_reduce(Tensor& t, ReduceOp op) {
    const char* name = "dist::all_reduce";
    MPI_Comm comm = detail::communicator(name);
    require_contiguous(t, name);
    if (op == ReduceOp::Average && !is_floating(t.dtype()))
        throw DTypeError("dist::all_reduce: Average needs a floating-point tensor, got " +
                         std::string(dtype_name(t.dtype())));
    NoGradGuard no_grad;
    MPI_Request request;
    detail::check(MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), static_cast<int>(t.numel()), mpi_type(t, name), mpi_op(op),
                                 comm, &request),
                  name);
    detail::wait(request, std::string(name) + " of a tensor of shape " + shape_str(t.shape()));
    t.storage()->bump_version();
    if (op == ReduceOp::Average) t.mul_(1.0 / world_size());
}

double all_reduce(double value, ReduceOp op) {
    const char* name = "dist::all_reduce";
    MPI_Comm comm = detail::communicator(name);
    MPI_Request request;
    detail::check(MPI_Iallreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, mpi_op(op), comm, &request), name);
    detail::wait(request, std::string(name) + " of a number");
    return op == ReduceOp::Average ? value / world_size() : value;
}

void broadcast(Tensor& t, int root) {
    const char* name = "dist::broadcast";
    MPI_Comm comm = detail::communicator(name);
    require_contiguous(t, name);
    if (root < 0 || root >= world_size())
        throw ValueError("dist::broadcast: root " + std::to_string(root) + " is outside [0, " +
                         std::to_string(world_size()) + ")");
    MPI_Request request;
    detail::check(MPI_Ibcast(t.raw_data(), static_cast<int>(t.numel()), mpi_type(t, name), root, comm, &request), name);
    detail::wait(request, std::string(name) + " of a tensor of shape " + shape_str(t.shape()));
    t.storage()->bump_version();
}

void barrier() {
    const char* name = "dist::barrier";
    MPI_Comm comm = detail::communicator(name);
    MPI_Request request;
    detail::check(MPI_Ibarrier(comm, &request), name);
    detail::wait(request, name);
}

void check_same_across_ranks(const std::vector<std::pair<std::string, Tensor>>& named, const std::string& what) {
    MPI_Comm comm = detail::communicator(what.c_str());
    const std::string context = what + ": comparing the models of the ranks";
    // Every rank compares its list with rank 0's, entry by entry, then all agree on the first
    // entry that differs anywhere and on the lowest rank that saw it.
    std::string mine;
    for (const auto& entry : named) mine += describe(entry) + "\n";
    const std::string reference = broadcast_string(mine, 0, comm, context);
    std::vector<std::string> theirs;
    for (std::size_t start = 0, end; (end = reference.find('\n', start)) != std::string::npos; start = end + 1)
        theirs.push_back(reference.substr(start, end - start));
    long long first = LLONG_MAX;
    const std::size_t common = std::min(theirs.size(), named.size());
    for (std::size_t i = 0; i < common && first == LLONG_MAX; ++i)
        if (describe(named[i]) != theirs[i]) first = static_cast<long long>(i);
    if (first == LLONG_MAX && theirs.size() != named.size()) first = static_cast<long long>(common);
    first = all_reduce_integer(first, MPI_MIN, comm, context);
    if (first == LLONG_MAX) return;
    const auto index = static_cast<std::size_t>(first);
    const auto entry_or_none = [](const std::vector<std::string>& list, std::size_t i) {
        return i < list.size() ? list[i] : std::string("nothing (") + std::to_string(list.size()) + " entries)";
    };
    std::vector<std::string> mine_list;
    for (const auto& entry : named) mine_list.push_back(describe(entry));
    const bool differs = entry_or_none(mine_list, index) != entry_or_none(theirs, index);
    const long long reporter = all_reduce_integer(differs ? rank() : LLONG_MAX, MPI_MIN, comm, context);
    const std::string other = broadcast_string(entry_or_none(mine_list, index), static_cast<int>(reporter), comm, context);
    throw DistError(what + ": the ranks' models differ at trainable parameter " + std::to_string(index) + ": rank 0 has " +
                    entry_or_none(theirs, index) + ", rank " + std::to_string(reporter) + " has " + other);
}

void broadcast_parameters(nn::Module& module, int root) {
    auto named = module.named_parameters();
    for (auto& buffer : module.named_buffers()) named.push_back(buffer);
    check_same_across_ranks(named, "dist::broadcast_parameters");
    NoGradGuard no_grad;
    for (auto& [name, t] : named) {
        if (!t.is_contiguous())
            throw ValueError("dist::broadcast_parameters: '" + name + "' is not contiguous");
        broadcast(t, root);
    }
}

}  // namespace graft::dist
