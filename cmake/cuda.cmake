# Decides whether the CUDA backend is built: MODECONN_CUDA = AUTO (if a CUDA compiler is found), ON, OFF, or
# EMULATE (the same CUDA sources compiled by the host compiler against tests/emulation, for testing on the CPU).
include(CheckLanguage)

set(MODECONN_HAVE_CUDA OFF)
set(MODECONN_CUDA_EMULATION OFF)
string(TOUPPER "${MODECONN_CUDA}" _modeconn_cuda)
if(NOT _modeconn_cuda MATCHES "^(AUTO|ON|OFF|EMULATE)$")
  message(FATAL_ERROR "MODECONN_CUDA must be AUTO, ON, OFF or EMULATE, not '${MODECONN_CUDA}'")
endif()

if(_modeconn_cuda STREQUAL "EMULATE")
  set(MODECONN_HAVE_CUDA ON)
  set(MODECONN_CUDA_EMULATION ON)
elseif(NOT _modeconn_cuda STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # No GPU on the build machines to detect an architecture from: name the ones we target.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    # CMake 3.25 predates nvcc 13 and does not know its C++20 flag: tell it.
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
      list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(MODECONN_HAVE_CUDA ON)
  elseif(_modeconn_cuda STREQUAL "ON")
    message(FATAL_ERROR "MODECONN_CUDA=ON but no CUDA compiler was found (put nvcc on PATH or set CMAKE_CUDA_COMPILER)")
  endif()
endif()

if(MODECONN_CUDA_EMULATION)
  message(STATUS "modeconn: CUDA backend built against the CPU emulation (tests/emulation); no GPU code")
elseif(MODECONN_HAVE_CUDA)
  find_package(CUDAToolkit REQUIRED)  # here, so that its targets are seen by every folder
  message(STATUS "modeconn: CUDA compiler found (${CMAKE_CUDA_COMPILER}), architectures ${CMAKE_CUDA_ARCHITECTURES}")
else()
  message(STATUS "modeconn: building without CUDA (MODECONN_CUDA=${MODECONN_CUDA})")
endif()

# In the emulated build, .cu files are C++ for the host compiler (CMake passes -x c++ for them).
function(modeconn_emulated_sources)
  set_source_files_properties(${ARGN} DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} PROPERTIES LANGUAGE CXX)
endfunction()
