#!/bin/sh
# Installs the Debian packages wafer needs (the ARM cross compilers and qemu-user check the
# C that `wafer emit-c` writes), if any is missing. Called by make before it
# builds anything, so `make demo` and `make test` work on a fresh machine.
set -e
PKGS="libopenblas-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev libcriterion-dev libonnx-testdata pkg-config gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-arm-linux-gnueabihf qemu-user"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "wafer: installing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
