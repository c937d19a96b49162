# libkmod linked into the embedded kplugd (docs/embedded.md).
#
# Debian ships libkmod only as a shared library, and Debian's libkmod.so.2 links libcrypto
# for one thing kplugd never asks for: the details of a module's signature (modinfo's
# signer and key). In an initramfs libcrypto costs 1.4 MiB resident, 0.4 MiB of it private
# (its relocated tables). So the embedded build compiles libkmod from Debian's own source
# package of the libkmod it would otherwise link (the same upstream release, version and
# code), the way Debian builds it for its installer's initramfs (libkmod2-udeb: no
# OpenSSL), but keeping xz and zstd module decompression, linked in from Debian's
# liblzma.a and libzstd.a.
#
# The source comes from Debian's archive (KPLUG_DEBIAN_MIRROR), checked against the
# SHA-256 of its .dsc, and is kept in KPLUG_DOWNLOAD_DIR, so a build tree downloads it once.
# KPLUG_KMOD_SOURCE_DIR points at an unpacked copy instead (an offline build).
# Defines the target kplug_libkmod_static.

set(KPLUG_DEBIAN_MIRROR "http://deb.debian.org/debian" CACHE STRING
  "Debian archive the embedded build fetches libkmod's source package from")
set(KPLUG_DOWNLOAD_DIR "${CMAKE_BINARY_DIR}/downloads" CACHE PATH
  "where the embedded build keeps the source packages it downloads")
set(KPLUG_KMOD_SOURCE_DIR "" CACHE PATH
  "an unpacked libkmod source tree (kmod 30) to build instead of downloading Debian's")

# Debian 12's kmod, the version of its libkmod-dev (bookworm: 30+20221128-1).
set(kplug_kmod_version "30+20221128")
set(kplug_kmod_tarball "kmod_${kplug_kmod_version}.orig.tar.xz")
set(kplug_kmod_sha256 "00bc9ae4f1f9e1bbc1266d838452865bc7c24271d0853939edbe3029ad22af4e")

if(KPLUG_KMOD_SOURCE_DIR)
  set(kplug_kmod_src "${KPLUG_KMOD_SOURCE_DIR}")
else()
  set(kplug_kmod_archive "${KPLUG_DOWNLOAD_DIR}/${kplug_kmod_tarball}")
  if(EXISTS "${kplug_kmod_archive}")
    file(SHA256 "${kplug_kmod_archive}" kplug_kmod_have)
  endif()
  if(NOT kplug_kmod_have STREQUAL kplug_kmod_sha256)
    set(kplug_kmod_url "${KPLUG_DEBIAN_MIRROR}/pool/main/k/kmod/${kplug_kmod_tarball}")
    message(STATUS "embedded build: downloading libkmod's source from ${kplug_kmod_url}")
    file(DOWNLOAD "${kplug_kmod_url}" "${kplug_kmod_archive}.part"
      EXPECTED_HASH SHA256=${kplug_kmod_sha256} STATUS kplug_kmod_status TIMEOUT 120)
    list(GET kplug_kmod_status 0 kplug_kmod_code)
    if(NOT kplug_kmod_code EQUAL 0)
      list(GET kplug_kmod_status 1 kplug_kmod_error)
      file(REMOVE "${kplug_kmod_archive}.part")
      message(FATAL_ERROR "embedded build: could not download ${kplug_kmod_url}: "
        "${kplug_kmod_error}. Set KPLUG_DEBIAN_MIRROR to a Debian mirror you can reach, or "
        "put ${kplug_kmod_tarball} (SHA-256 ${kplug_kmod_sha256}) in ${KPLUG_DOWNLOAD_DIR}, "
        "or point KPLUG_KMOD_SOURCE_DIR at an unpacked copy.")
    endif()
    file(RENAME "${kplug_kmod_archive}.part" "${kplug_kmod_archive}")
  endif()
  set(kplug_kmod_src "${CMAKE_BINARY_DIR}/kmod-${kplug_kmod_version}")
  if(NOT EXISTS "${kplug_kmod_src}/libkmod/libkmod.h")
    file(ARCHIVE_EXTRACT INPUT "${kplug_kmod_archive}" DESTINATION "${CMAKE_BINARY_DIR}")
  endif()
endif()
if(NOT EXISTS "${kplug_kmod_src}/libkmod/libkmod-module.c")
  message(FATAL_ERROR "embedded build: no libkmod source in ${kplug_kmod_src}")
endif()

find_library(KPLUG_LIBLZMA_STATIC liblzma.a REQUIRED)
find_library(KPLUG_LIBZSTD_STATIC libzstd.a REQUIRED)

# What kmod's configure finds on Debian 12 (glibc 2.36, gcc 12), as a config.h. Written
# only when it changes: every source includes it, so a rewrite would rebuild libkmod.
file(CONFIGURE OUTPUT "${CMAKE_BINARY_DIR}/kmod-config/config.h" @ONLY CONTENT [=[
/* kplug's embedded build: what kmod 30's configure defines on Debian 12 */
#define _GNU_SOURCE 1
#define PACKAGE "kmod"
#define VERSION "30"
#define KMOD_FEATURES "+ZSTD +XZ -ZLIB -LIBCRYPTO"
#define ENABLE_LOGGING 1
#define ENABLE_XZ 1
#define ENABLE_ZSTD 1
#define HAVE_SECURE_GETENV 1
#define HAVE_STRUCT_STAT_ST_MTIM 1
#define HAVE_DECL_STRNDUPA 1
#define HAVE_DECL_BE32TOH 1
#define HAVE_LINUX_MODULE_H 1
#define HAVE_STATIC_ASSERT 1
#define HAVE_NORETURN 1
#define HAVE___BUILTIN_CLZ 1
#define HAVE___BUILTIN_TYPES_COMPATIBLE_P 1
#define HAVE___BUILTIN_UADDL_OVERFLOW 1
#define HAVE___BUILTIN_UADDLL_OVERFLOW 1
]=])

enable_language(C)
add_library(kplug_libkmod_static STATIC
  ${kplug_kmod_src}/shared/array.c
  ${kplug_kmod_src}/shared/hash.c
  ${kplug_kmod_src}/shared/scratchbuf.c
  ${kplug_kmod_src}/shared/strbuf.c
  ${kplug_kmod_src}/shared/util.c
  ${kplug_kmod_src}/libkmod/libkmod.c
  ${kplug_kmod_src}/libkmod/libkmod-builtin.c
  ${kplug_kmod_src}/libkmod/libkmod-list.c
  ${kplug_kmod_src}/libkmod/libkmod-config.c
  ${kplug_kmod_src}/libkmod/libkmod-index.c
  ${kplug_kmod_src}/libkmod/libkmod-module.c
  ${kplug_kmod_src}/libkmod/libkmod-file.c
  ${kplug_kmod_src}/libkmod/libkmod-elf.c
  ${kplug_kmod_src}/libkmod/libkmod-signature.c
)
set_target_properties(kplug_libkmod_static PROPERTIES C_STANDARD 99 C_EXTENSIONS ON)
target_compile_options(kplug_libkmod_static PRIVATE
  -include "${CMAKE_BINARY_DIR}/kmod-config/config.h" -ffunction-sections -fdata-sections)
target_compile_definitions(kplug_libkmod_static PRIVATE SYSCONFDIR="/etc")
target_include_directories(kplug_libkmod_static PRIVATE "${kplug_kmod_src}")
target_include_directories(kplug_libkmod_static SYSTEM PUBLIC "${kplug_kmod_src}/libkmod")
target_link_libraries(kplug_libkmod_static PUBLIC ${KPLUG_LIBZSTD_STATIC} ${KPLUG_LIBLZMA_STATIC})
