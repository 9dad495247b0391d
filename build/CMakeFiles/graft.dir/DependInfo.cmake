
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/autograd/engine.cpp" "CMakeFiles/graft.dir/src/autograd/engine.cpp.o" "gcc" "CMakeFiles/graft.dir/src/autograd/engine.cpp.o.d"
  "/work/main/src/core/copy.cpp" "CMakeFiles/graft.dir/src/core/copy.cpp.o" "gcc" "CMakeFiles/graft.dir/src/core/copy.cpp.o.d"
  "/work/main/src/core/dtype.cpp" "CMakeFiles/graft.dir/src/core/dtype.cpp.o" "gcc" "CMakeFiles/graft.dir/src/core/dtype.cpp.o.d"
  "/work/main/src/core/factories.cpp" "CMakeFiles/graft.dir/src/core/factories.cpp.o" "gcc" "CMakeFiles/graft.dir/src/core/factories.cpp.o.d"
  "/work/main/src/core/random.cpp" "CMakeFiles/graft.dir/src/core/random.cpp.o" "gcc" "CMakeFiles/graft.dir/src/core/random.cpp.o.d"
  "/work/main/src/core/storage.cpp" "CMakeFiles/graft.dir/src/core/storage.cpp.o" "gcc" "CMakeFiles/graft.dir/src/core/storage.cpp.o.d"
  "/work/main/src/core/tensor.cpp" "CMakeFiles/graft.dir/src/core/tensor.cpp.o" "gcc" "CMakeFiles/graft.dir/src/core/tensor.cpp.o.d"
  "/work/main/src/core/views.cpp" "CMakeFiles/graft.dir/src/core/views.cpp.o" "gcc" "CMakeFiles/graft.dir/src/core/views.cpp.o.d"
  "/work/main/src/ops/binary.cpp" "CMakeFiles/graft.dir/src/ops/binary.cpp.o" "gcc" "CMakeFiles/graft.dir/src/ops/binary.cpp.o.d"
  "/work/main/src/ops/reduce.cpp" "CMakeFiles/graft.dir/src/ops/reduce.cpp.o" "gcc" "CMakeFiles/graft.dir/src/ops/reduce.cpp.o.d"
  "/work/main/src/ops/unary.cpp" "CMakeFiles/graft.dir/src/ops/unary.cpp.o" "gcc" "CMakeFiles/graft.dir/src/ops/unary.cpp.o.d"
  "/work/main/src/testing/gradcheck.cpp" "CMakeFiles/graft.dir/src/testing/gradcheck.cpp.o" "gcc" "CMakeFiles/graft.dir/src/testing/gradcheck.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
