# Installation layout and the Debian package (issue 13). Included last from the top-level
# CMakeLists.txt. Everything an operator needs is in the install component "runtime":
#
#   bin/kayako-sync                                   the daemon and CLI
#   lib/systemd/system/kayako-sync.service            single-helpdesk unit   (systemd/)
#   lib/systemd/system/kayako-sync@.service           template, one per helpdesk
#   share/kayako-sync/migrations/*.sql                found by the binary (KSYNC_MIGRATIONS_INSTALL_DIR)
#   share/doc/kayako-sync/README.md                   the units' Documentation=
#   share/doc/kayako-sync/examples/kayako-sync.example.yaml
#
# (relative to CMAKE_INSTALL_PREFIX; the .deb uses /usr). Test tools such as kayako-emulator are
# in the component "tests" and stay out of the package:
#   cmake --install BUILD --component runtime [--prefix ...]      (DESTDIR=... for a scratch root)
#   cpack --config BUILD/CPackConfig.cmake                         -> kayako-sync_VERSION_ARCH.deb
# tests/packaging/check_install.sh checks both against this list.

install(FILES ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/config/kayako-sync.example.yaml
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
  COMPONENT runtime)

# ---------------------------------------------------------------------------------------------
# CPack: one .deb holding the "runtime" component only.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "kayako-sync")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "kayako-sync maintainers")
set(CPACK_PACKAGE_CONTACT "kayako-sync maintainers <maintainers@users.noreply.r-seed-d741a794.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "PostgreSQL mirror of a Kayako Classic helpdesk, with push-back")
set(CPACK_PACKAGE_DESCRIPTION
  "kayako-sync polls a Kayako Classic helpdesk's REST API, keeps typed PostgreSQL tables and an
ordered change feed for a data warehouse, and pushes changes made in the database back to
Kayako. It runs as a hardened systemd service (kayako-sync.service, or kayako-sync@NAME.service
for one instance per helpdesk).")
# The binary has its install prefix compiled in (the migrations directory) and the units name
# it, so the package must use the same prefix as the build.
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "kayako-sync: CMAKE_INSTALL_PREFIX is ${CMAKE_INSTALL_PREFIX}; configure with "
                 "-DCMAKE_INSTALL_PREFIX=/usr for a Debian package with the documented layout")
endif()
# Only the runtime component, as one package (no per-component packages).
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};${PROJECT_NAME};runtime;/")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Library dependencies come from dpkg-shlibdeps: on Debian 12 libpqxx-6.4, libpq5, libssl3,
# libxml2, libyaml-cpp0.7, libspdlog1.10-fmt9, libfmt9, libstdc++6, libgcc-s1, libc6 (Boost is
# header-only here; sd_notify is written over AF_UNIX, so no libsystemd0). procps ships /bin/kill,
# the units' ExecReload=.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd (>= 252)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${PROJECT_SOURCE_DIR}/systemd/debian/postinst;${PROJECT_SOURCE_DIR}/systemd/debian/prerm;${PROJECT_SOURCE_DIR}/systemd/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
