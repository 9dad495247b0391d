// A core-layer file that includes an ops-layer header: cmake/check_layering.cmake must reject
// it (the CTest case layering_rejects_upward_include runs the check on this folder).
#include "graft/ops.hpp"
