# Builds and runs one consumer project (run with cmake -P; tests/CMakeLists.txt registers it).
#
#   MODE=find_package      cmake --install GRAFT_BINARY_DIR into WORK_DIR/prefix, check the
#                          installed files, then build find_package/ against that prefix
#   MODE=add_subdirectory  build add_subdirectory/, which builds GRAFT_SOURCE_DIR itself
#
# The consumer is configured with the same generator, compiler, build type and flags as the
# build under test (CXX_FLAGS carries the sanitizer flags in a GRAFT_SANITIZE build), then run.
cmake_minimum_required(VERSION 3.20)

foreach(var MODE GRAFT_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}): ${what} failed (${rc})")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(configure_args
  -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
if(BUILD_TYPE)
  string(TOUPPER "${BUILD_TYPE}" config)
  list(APPEND configure_args "-DCMAKE_CXX_FLAGS_${config}=${CXX_FLAGS_CONFIG}")
endif()
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

set(consumer_dir "${GRAFT_SOURCE_DIR}/tests/consumer/${MODE}")
set(build_dir "${WORK_DIR}/build")

if(MODE STREQUAL "find_package")
  if(NOT GRAFT_BINARY_DIR OR NOT LIBDIR OR NOT INCLUDEDIR)
    message(FATAL_ERROR "run_consumer.cmake: find_package mode needs GRAFT_BINARY_DIR, LIBDIR and INCLUDEDIR")
  endif()
  set(prefix "${WORK_DIR}/prefix")
  run_step("cmake --install" "${CMAKE_COMMAND}" --install "${GRAFT_BINARY_DIR}" --prefix "${prefix}"
           --config "${BUILD_TYPE}")
  foreach(installed
          "${INCLUDEDIR}/graft/graft.hpp"
          "${INCLUDEDIR}/graft/functional.hpp"
          "${INCLUDEDIR}/graft/data/dataloader.hpp"
          "${LIBDIR}/libgraft.a"
          "${LIBDIR}/cmake/graft/graftConfig.cmake"
          "${LIBDIR}/cmake/graft/graftConfigVersion.cmake"
          "${LIBDIR}/cmake/graft/graftTargets.cmake")
    if(NOT EXISTS "${prefix}/${installed}")
      message(FATAL_ERROR "consumer (find_package): cmake --install did not produce ${installed}")
    endif()
  endforeach()
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${prefix}"
       -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND configure_args "-DGRAFT_SOURCE_DIR=${GRAFT_SOURCE_DIR}")
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

run_step("configure" "${CMAKE_COMMAND}" -S "${consumer_dir}" -B "${build_dir}" ${configure_args})

if(MODE STREQUAL "find_package")
  # The package must come from the prefix just installed, not from a graft installed elsewhere.
  file(STRINGS "${build_dir}/CMakeCache.txt" graft_dir_line REGEX "^graft_DIR:")
  string(REGEX REPLACE "^graft_DIR:[A-Z]+=" "" graft_dir "${graft_dir_line}")
  file(REAL_PATH "${graft_dir}" graft_dir)
  file(REAL_PATH "${prefix}/${LIBDIR}/cmake/graft" want_dir)
  if(NOT graft_dir STREQUAL want_dir)
    message(FATAL_ERROR "consumer (find_package): found graft in '${graft_dir}', expected '${want_dir}'")
  endif()
endif()

if(NOT JOBS)
  set(JOBS 2)
endif()
run_step("build" "${CMAKE_COMMAND}" --build "${build_dir}" --parallel ${JOBS})
run_step("run" "${build_dir}/app")
