#----------------------------------------------------------------
# Generated CMake target import file for configuration "Release".
#----------------------------------------------------------------

# Commands may need to know the format version.
set(CMAKE_IMPORT_FILE_VERSION 1)

# Import target "graft::graft" for configuration "Release"
set_property(TARGET graft::graft APPEND PROPERTY IMPORTED_CONFIGURATIONS RELEASE)
set_target_properties(graft::graft PROPERTIES
  IMPORTED_LINK_INTERFACE_LANGUAGES_RELEASE "CXX"
  IMPORTED_LOCATION_RELEASE "${_IMPORT_PREFIX}/lib/libgraft.a"
  )

list(APPEND _cmake_import_check_targets graft::graft )
list(APPEND _cmake_import_check_files_for_graft::graft "${_IMPORT_PREFIX}/lib/libgraft.a" )

# Commands beyond this point should not need to know the version.
set(CMAKE_IMPORT_FILE_VERSION)
