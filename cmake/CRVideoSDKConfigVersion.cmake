# CRVideoSDKConfigVersion.cmake for the build tree (`-DCRVideoSDK_DIR=<repo>/cmake`): the
# version is the one in include/CRVideoSDK.h (generated from Cargo.toml); the compatibility
# rule is the installed package's, in CRVideoSDKConfigVersion.cmake.in.

file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../include/CRVideoSDK.h" _CRVideoSDK_version_line
     REGEX "^#define CRVIDEOSDK_VERSION_STRING \"[^\"]*\"")
string(REGEX REPLACE "^#define CRVIDEOSDK_VERSION_STRING \"([^\"]*)\".*" "\\1"
       _CRVideoSDK_BUILD_TREE_VERSION "${_CRVideoSDK_version_line}")
include("${CMAKE_CURRENT_LIST_DIR}/CRVideoSDKConfigVersion.cmake.in")
unset(_CRVideoSDK_BUILD_TREE_VERSION)
unset(_CRVideoSDK_version_line)
