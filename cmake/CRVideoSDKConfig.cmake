# CRVideoSDKConfig.cmake for the build tree: use the SDK straight from a checkout, without
# installing it.
#
#   cargo build --release -p crvideosdk      # or --workspace, for the server as well
#   cmake -S app -B build -DCRVideoSDK_DIR=/path/to/repo/cmake
#
# It provides the same targets, components and variables as the installed package
# (cmake/CRVideoSDKConfig.cmake.in): CRVideoSDK::crvideosdk, CRVideoSDK::crvideosdk_static,
# CRVideoSDK::crvideo-server, with the headers from <repo>/include and the libraries from
# cargo's output directory. Cache variables:
#   CRVideoSDK_TARGET_DIR  cargo's target directory (default: $ENV{CARGO_TARGET_DIR}, else
#                          <repo>/target)
#   CRVideoSDK_PROFILE     which build to use: release or debug (default: release when
#                          target/release/libcrvideosdk.so exists, else debug)
#
# A library with a SONAME (release builds: libcrvideosdk.so.0.1) is found at run time under
# that name. build.rs links it beside target/release/libcrvideosdk.so, but the library may
# come from deps/ (see below), which has no such link; so the shared target points at a
# symlink named after the SONAME in <consumer build dir>/CRVideoSDK-build-tree/, and CMake's
# build RPATH takes the executables there.

if(CMAKE_VERSION VERSION_LESS 3.14)
  set(CRVideoSDK_FOUND FALSE)
  set(CRVideoSDK_NOT_FOUND_MESSAGE "the CRVideoSDK build-tree package needs CMake 3.14 or newer")
  return()
endif()

get_filename_component(_CRVideoSDK_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

if(NOT CRVideoSDK_TARGET_DIR)
  if(DEFINED ENV{CARGO_TARGET_DIR} AND NOT "$ENV{CARGO_TARGET_DIR}" STREQUAL "")
    get_filename_component(_CRVideoSDK_target "$ENV{CARGO_TARGET_DIR}" ABSOLUTE
                           BASE_DIR "${_CRVideoSDK_root}")
  else()
    set(_CRVideoSDK_target "${_CRVideoSDK_root}/target")
  endif()
  set(CRVideoSDK_TARGET_DIR "${_CRVideoSDK_target}" CACHE PATH
      "cargo's target directory holding the CRVideo SDK build")
endif()
if(NOT CRVideoSDK_PROFILE)
  if(EXISTS "${CRVideoSDK_TARGET_DIR}/release/libcrvideosdk.so")
    set(_CRVideoSDK_profile release)
  else()
    set(_CRVideoSDK_profile debug)
  endif()
  set(CRVideoSDK_PROFILE "${_CRVideoSDK_profile}" CACHE STRING
      "which cargo build of the CRVideo SDK to use (release or debug)")
endif()

set(_CRVideoSDK_out "${CRVideoSDK_TARGET_DIR}/${CRVideoSDK_PROFILE}")
set(_CRVideoSDK_includedir "${_CRVideoSDK_root}/include")
set(_CRVideoSDK_shared "${_CRVideoSDK_out}/libcrvideosdk.so")
set(_CRVideoSDK_static "${_CRVideoSDK_out}/libcrvideosdk.a")
# `cargo build` copies the libraries up into the profile directory; `cargo test` and
# `cargo clippy` leave them in deps/ only.
foreach(_CRVideoSDK_var _CRVideoSDK_shared _CRVideoSDK_static)
  get_filename_component(_CRVideoSDK_name "${${_CRVideoSDK_var}}" NAME)
  if(NOT EXISTS "${${_CRVideoSDK_var}}" AND EXISTS "${_CRVideoSDK_out}/deps/${_CRVideoSDK_name}")
    set(${_CRVideoSDK_var} "${_CRVideoSDK_out}/deps/${_CRVideoSDK_name}")
  endif()
endforeach()
set(_CRVideoSDK_server "${_CRVideoSDK_out}/crvideo-server")

if(NOT EXISTS "${_CRVideoSDK_includedir}/CRVideoSDK.h")
  set(CRVideoSDK_FOUND FALSE)
  set(CRVideoSDK_NOT_FOUND_MESSAGE "${_CRVideoSDK_includedir}/CRVideoSDK.h is missing")
  return()
endif()
set(CRVideoSDK_INCLUDE_DIRS "${_CRVideoSDK_includedir}")

if(EXISTS "${_CRVideoSDK_shared}")
  set(CRVideoSDK_shared_FOUND TRUE)
  # The SONAME, if any, is a string of its own in the library's .dynstr.
  file(STRINGS "${_CRVideoSDK_shared}" CRVideoSDK_SONAME LIMIT_COUNT 1
       REGEX "^libcrvideosdk\\.so\\.[0-9]+(\\.[0-9]+)*$")
  if(NOT TARGET CRVideoSDK::crvideosdk)
    add_library(CRVideoSDK::crvideosdk SHARED IMPORTED)
    set_target_properties(CRVideoSDK::crvideosdk PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${_CRVideoSDK_includedir}")
    if(CRVideoSDK_SONAME)
      set(_CRVideoSDK_stage "${CMAKE_BINARY_DIR}/CRVideoSDK-build-tree")
      file(MAKE_DIRECTORY "${_CRVideoSDK_stage}")
      file(REMOVE "${_CRVideoSDK_stage}/${CRVideoSDK_SONAME}")
      file(CREATE_LINK "${_CRVideoSDK_shared}" "${_CRVideoSDK_stage}/${CRVideoSDK_SONAME}"
           SYMBOLIC)
      set_target_properties(CRVideoSDK::crvideosdk PROPERTIES
        IMPORTED_LOCATION "${_CRVideoSDK_stage}/${CRVideoSDK_SONAME}"
        IMPORTED_SONAME "${CRVideoSDK_SONAME}")
    else()
      set_target_properties(CRVideoSDK::crvideosdk PROPERTIES
        IMPORTED_LOCATION "${_CRVideoSDK_shared}"
        IMPORTED_NO_SONAME TRUE)
    endif()
  endif()
  set(CRVideoSDK_LIBRARIES CRVideoSDK::crvideosdk)
else()
  set(CRVideoSDK_shared_FOUND FALSE)
endif()

if(EXISTS "${_CRVideoSDK_static}")
  set(CRVideoSDK_static_FOUND TRUE)
  if(NOT TARGET CRVideoSDK::crvideosdk_static)
    add_library(CRVideoSDK::crvideosdk_static STATIC IMPORTED)
    set_target_properties(CRVideoSDK::crvideosdk_static PROPERTIES
      IMPORTED_LOCATION "${_CRVideoSDK_static}"
      IMPORTED_LINK_INTERFACE_LANGUAGES "C"
      INTERFACE_INCLUDE_DIRECTORIES "${_CRVideoSDK_includedir}"
      # `cargo rustc --lib -- --print native-static-libs`; kept in step with scripts/install.sh.
      INTERFACE_LINK_LIBRARIES "stdc++;gcc_s;util;rt;pthread;m;dl")
  endif()
else()
  set(CRVideoSDK_static_FOUND FALSE)
endif()

if(EXISTS "${_CRVideoSDK_server}")
  set(CRVideoSDK_server_FOUND TRUE)
  set(CRVideoSDK_SERVER_EXECUTABLE "${_CRVideoSDK_server}")
  if(NOT TARGET CRVideoSDK::crvideo-server)
    add_executable(CRVideoSDK::crvideo-server IMPORTED)
    set_target_properties(CRVideoSDK::crvideo-server PROPERTIES
      IMPORTED_LOCATION "${_CRVideoSDK_server}")
  endif()
else()
  set(CRVideoSDK_server_FOUND FALSE)
endif()

if(NOT CRVideoSDK_FIND_COMPONENTS)
  set(_CRVideoSDK_required shared)
else()
  set(_CRVideoSDK_required "")
  foreach(_CRVideoSDK_comp IN LISTS CRVideoSDK_FIND_COMPONENTS)
    if(NOT _CRVideoSDK_comp MATCHES "^(shared|static|server)$")
      set(CRVideoSDK_${_CRVideoSDK_comp}_FOUND FALSE)
    endif()
    if(CRVideoSDK_FIND_REQUIRED_${_CRVideoSDK_comp})
      list(APPEND _CRVideoSDK_required ${_CRVideoSDK_comp})
    endif()
  endforeach()
endif()
foreach(_CRVideoSDK_comp IN LISTS _CRVideoSDK_required)
  if(NOT CRVideoSDK_${_CRVideoSDK_comp}_FOUND)
    set(CRVideoSDK_FOUND FALSE)
    set(CRVideoSDK_NOT_FOUND_MESSAGE
        "component '${_CRVideoSDK_comp}' is missing from ${_CRVideoSDK_out}: build it first (cargo build --release --workspace), or pick another build with -DCRVideoSDK_PROFILE=debug|release")
  endif()
endforeach()

unset(_CRVideoSDK_comp)
unset(_CRVideoSDK_required)
unset(_CRVideoSDK_root)
unset(_CRVideoSDK_target)
unset(_CRVideoSDK_profile)
unset(_CRVideoSDK_out)
unset(_CRVideoSDK_includedir)
unset(_CRVideoSDK_shared)
unset(_CRVideoSDK_static)
unset(_CRVideoSDK_server)
unset(_CRVideoSDK_stage)
