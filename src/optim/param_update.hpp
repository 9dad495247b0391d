// Internal: what every optimizer step does around its fused kernel for one parameter.
//
//   ParamUpdate u(param, grad, "AdamW", i);          // checks, contiguous views
//   Tensor m = buffer(state, "exp_avg", param);       // zeros on first use
//   kernels::adam_update(u.numel(), u.param<float>(), u.grad<float>(), …);
//   u.commit();                                       // writes back, bumps the version
#pragma once

#include <cstdint>
#include <string>

#include "graft/optim/optimizer.hpp"

namespace graft::optim::detail {

/// Contiguous views of a parameter and its gradient for a kernel to update in place; a
/// non-contiguous parameter is updated in a copy that commit() writes back.
class ParamUpdate {
public:
    /// ValueError naming the optimizer and parameter index when the parameter is read-only.
    ParamUpdate(const Tensor& param, const Tensor& grad, const char* optimizer, std::size_t index);

    std::int64_t numel() const { return work_.numel(); }
    DType dtype() const { return work_.dtype(); }
    template <class T>
    T* param() const {
        return work_.data_ptr<T>();
    }
    template <class T>
    const T* grad() const {
        return grad_.data_ptr<T>();
    }
    /// Publishes the update: copies back into a non-contiguous parameter and bumps the storage
    /// version, so a graph that saved the old value refuses to run backward.
    void commit();

private:
    Tensor param_, work_, grad_;
};

/// The state buffer `name` (a handle sharing its data), created as zeros shaped like `param` when absent.
Tensor buffer(ParamState& state, const std::string& name, const Tensor& param);

/// ValueError "<optimizer>: invalid <what> <value> (<rule>)" unless `ok`.
void require(bool ok, const char* optimizer, const char* what, double value, const char* rule);

}  // namespace graft::optim::detail
