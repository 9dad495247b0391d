file(REMOVE_RECURSE
  "CMakeFiles/graft.dir/src/autograd/engine.cpp.o"
  "CMakeFiles/graft.dir/src/autograd/engine.cpp.o.d"
  "CMakeFiles/graft.dir/src/core/copy.cpp.o"
  "CMakeFiles/graft.dir/src/core/copy.cpp.o.d"
  "CMakeFiles/graft.dir/src/core/dtype.cpp.o"
  "CMakeFiles/graft.dir/src/core/dtype.cpp.o.d"
  "CMakeFiles/graft.dir/src/core/factories.cpp.o"
  "CMakeFiles/graft.dir/src/core/factories.cpp.o.d"
  "CMakeFiles/graft.dir/src/core/random.cpp.o"
  "CMakeFiles/graft.dir/src/core/random.cpp.o.d"
  "CMakeFiles/graft.dir/src/core/storage.cpp.o"
  "CMakeFiles/graft.dir/src/core/storage.cpp.o.d"
  "CMakeFiles/graft.dir/src/core/tensor.cpp.o"
  "CMakeFiles/graft.dir/src/core/tensor.cpp.o.d"
  "CMakeFiles/graft.dir/src/core/views.cpp.o"
  "CMakeFiles/graft.dir/src/core/views.cpp.o.d"
  "CMakeFiles/graft.dir/src/ops/binary.cpp.o"
  "CMakeFiles/graft.dir/src/ops/binary.cpp.o.d"
  "CMakeFiles/graft.dir/src/ops/reduce.cpp.o"
  "CMakeFiles/graft.dir/src/ops/reduce.cpp.o.d"
  "CMakeFiles/graft.dir/src/ops/unary.cpp.o"
  "CMakeFiles/graft.dir/src/ops/unary.cpp.o.d"
  "CMakeFiles/graft.dir/src/testing/gradcheck.cpp.o"
  "CMakeFiles/graft.dir/src/testing/gradcheck.cpp.o.d"
  "libgraft.a"
  "libgraft.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/graft.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
