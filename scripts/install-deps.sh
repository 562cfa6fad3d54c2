#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages that building, testing and the demo need.
# Safe to run again: apt skips what is already installed.
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config clang clang-format
    libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
    libssl-dev libcurl4-openssl-dev libjansson-dev libcbor-dev
    libsystemd-dev libmicrohttpd-dev
    # tests, demo and benchmarks
    containerd docker-registry openssl curl valgrind
    libclang-rt-14-dev systemd
    # the Debian package (cpack -G DEB: dpkg-shlibdeps, dpkg-deb)
    dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
