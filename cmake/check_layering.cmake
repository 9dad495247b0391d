cmake_policy(VERSION 3.20)
# The include half of the layering check (the link half is the graft_layer_<name> libraries of
# the top CMakeLists.txt): every #include "…" of a source or public header must name a header of
# its own layer or of a layer below it. Run by CTest as `layering`:
#   cmake -DGRAFT_SOURCE_DIR=<repo> -P cmake/check_layering.cmake
# Layers and what each may use are listed once, in layers.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/layers.cmake)

# The layer of a file, from its path relative to the repository root (empty: not a layer's file).
function(graft_layer_of path out)
  set(layer "")
  if(path MATCHES "^kernels/")
    set(layer kernels)
  elseif(path MATCHES "^src/([a-z]+)/")
    set(layer ${CMAKE_MATCH_1})
  elseif(path MATCHES "^include/graft/(detail/|autocast|dtype|error|storage|tensor|random|runtime|memory|profiler|state_dict)")
    set(layer core)
  elseif(path MATCHES "^include/graft/autograd")
    set(layer autograd)
  elseif(path MATCHES "^include/graft/(ops|functional)")
    set(layer ops)
  elseif(path MATCHES "^include/graft/graft\\.hpp$")
    set(layer all)
  elseif(path MATCHES "^include/graft/([a-z]+)/")
    set(layer ${CMAKE_MATCH_1})
  endif()
  set(${out} ${layer} PARENT_SCOPE)
endfunction()

# Where an #include "name" written in `from` resolves: the public headers, kernels/ (named from the
# root) or src/ (named from src/).
function(graft_resolve_include name out)
  set(resolved "")
  if(name MATCHES "^graft/")
    set(resolved include/${name})
  elseif(name MATCHES "^kernels/")
    set(resolved ${name})
  elseif(EXISTS ${GRAFT_SOURCE_DIR}/src/${name})
    set(resolved src/${name})
  endif()
  set(${out} ${resolved} PARENT_SCOPE)
endfunction()

foreach(layer IN LISTS GRAFT_LAYERS)
  graft_layer_closure(${layer} allowed_${layer})
endforeach()
set(allowed_all ${GRAFT_LAYERS})

file(GLOB_RECURSE files RELATIVE ${GRAFT_SOURCE_DIR}
     ${GRAFT_SOURCE_DIR}/kernels/*.cpp ${GRAFT_SOURCE_DIR}/kernels/*.hpp
     ${GRAFT_SOURCE_DIR}/src/*.cpp ${GRAFT_SOURCE_DIR}/src/*.hpp ${GRAFT_SOURCE_DIR}/include/graft/*.hpp)
set(violations "")
set(checked 0)
foreach(file IN LISTS files)
  graft_layer_of(${file} layer)
  if(NOT layer)
    list(APPEND violations "${file}: not in any layer (add its folder to cmake/layers.cmake)")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS ${GRAFT_SOURCE_DIR}/${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" name "${line}")
    graft_resolve_include(${name} target)
    if(NOT target)
      continue()  # a header next to the file or a system header named with quotes
    endif()
    graft_layer_of(${target} target_layer)
    if(target_layer AND NOT target_layer IN_LIST allowed_${layer})
      list(APPEND violations "${file} (layer ${layer}) includes \"${name}\" (layer ${target_layer})")
    endif()
  endforeach()
endforeach()

if(violations)
  list(LENGTH violations count)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "layering: ${count} include(s) reach a layer above their own:\n  ${text}")
endif()
message(STATUS "layering: ${checked} files, every include within its layer or below")
