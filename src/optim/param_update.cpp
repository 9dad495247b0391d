// ParamUpdate: the checks and contiguous views around one fused optimizer update.
#include "optim/param_update.hpp"

#include <sstream>

#include "graft/autograd.hpp"
#include "graft/storage.hpp"

namespace graft::optim::detail {

ParamUpdate::ParamUpdate(const Tensor& param, const Tensor& grad, const char* optimizer, std::size_t index)
    : param_(param) {
    if (!param.storage()->writable())
        throw ValueError(std::string(optimizer) + ".step: parameter " + std::to_string(index) + " (shape " +
                         shape_str(param.shape()) +
                         ") is read-only (it views a memory-mapped file); clone() it before training");
    NoGradGuard guard;
    work_ = param.is_contiguous() ? param : param.contiguous();
    grad_ = grad.is_contiguous() ? grad : grad.contiguous();
}

void ParamUpdate::commit() {
    NoGradGuard guard;
    if (work_.shares_storage(param_))
        param_.storage()->bump_version();
    else
        param_.copy_(work_);
}

Tensor buffer(ParamState& state, const std::string& name, const Tensor& param) {
    if (Tensor* t = state.find(name)) return *t;
    state.buffers.emplace_back(name, zeros(param.shape(), param.dtype()));
    return state.buffers.back().second;
}

void require(bool ok, const char* optimizer, const char* what, double value, const char* rule) {
    if (ok) return;
    std::ostringstream os;
    os << optimizer << ": invalid " << what << " " << value << " (" << rule << ")";
    throw ValueError(os.str());
}

}  // namespace graft::optim::detail
