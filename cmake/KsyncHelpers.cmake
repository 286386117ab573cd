# ksync_library(NAME SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
# A static library for one folder. Includes are rooted at the repository ("config/config.hpp").
function(ksync_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ksync_build_options ${ARG_PRIVATE_DEPS})
endfunction()

# ksync_test(NAME LABEL unit|pg|e2e|emulator SOURCES ... [DEPS ...])
# One GoogleTest executable; each TEST becomes a ctest test carrying the label, so
# `ctest -L pg` runs exactly the PostgreSQL suites. Discovery happens when ctest runs
# (PRE_TEST), so a build never executes test binaries.
function(ksync_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ksync_build_options ksync_test_support ${ARG_DEPS}
    GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/sanitizers/lsan.supp"
    TEST_PREFIX "${ARG_LABEL}.")
endfunction()
