#!/usr/bin/env bash
# An arm64 Python for the device code, in about half a minute: Debian Bookworm's python3.11 for
# arm64, unpacked from its .debs (no debootstrap, no maintainer scripts, nothing configured
# under emulation), plus aarch64 wheels fetched by this host's pip, run by qemu-aarch64-static
# with -L (no chroot, no binfmt_misc, no root needed). The host's apt and dpkg state are not
# touched: apt runs on a private configuration under DIR.
#
#   tests/arm64_sysroot.sh DIR        ->  DIR/py: the arm64 python3.11, edge/ importable
#
# What it is not: a Pi's system. `make pi-check` (bench/pi_check.py) installs into a full
# debootstrapped root with systemd/install.sh; this is the cheap subset CI runs (tests/
# test_arm64.py): the device check and reid-identify on the Pi's instruction set.
set -euo pipefail
D=$(mkdir -p "$1" && cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}  # any host Python with pip: it only downloads aarch64 wheels
MIRROR=${REID_DEBIAN_MIRROR:-http://deb.debian.org}
KEY=/usr/share/keyrings/debian-archive-keyring.gpg
ROOT=$D/root
# What install.sh's venv resolved on the arm64 root beside Debian's numpy 1.24 (make pi-check).
WHEELS="numpy==1.24.4 ai-edge-litert==2.3.0 opencv-python-headless==4.11.0.86 paho-mqtt==2.2.0
  cryptography==50.0.2"
# python3.11's run-time closure on Bookworm (less dpkg and tar), and libstdc++ for the wheels.
PACKAGES="python3.11-minimal libpython3.11-minimal libpython3.11-stdlib media-types libc6
  libgcc-s1 libstdc++6 zlib1g libssl3 libexpat1 libffi8 libbz2-1.0 liblzma5 libsqlite3-0
  libncursesw6 libtinfo6 libreadline8 readline-common libuuid1 libdb5.3 libcrypt1 libnsl2
  libtirpc3 libtirpc-common libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0
  libkeyutils1 libcom-err2"

mkdir -p "$D"/apt/etc/{apt.conf.d,preferences.d,sources.list.d,trusted.gpg.d} \
    "$D"/apt/state/lists/partial "$D"/apt/cache/archives/partial "$D"/debs "$ROOT"
: > "$D/apt/status"
cat > "$D/apt/etc/sources.list" <<SOURCES
deb [arch=arm64 signed-by=$KEY] $MIRROR/debian bookworm main
deb [arch=arm64 signed-by=$KEY] $MIRROR/debian bookworm-updates main
deb [arch=arm64 signed-by=$KEY] $MIRROR/debian-security bookworm-security main
SOURCES
cat > "$D/apt/apt.conf" <<CONF
Dir::Etc "$D/apt/etc";
Dir::State "$D/apt/state";
Dir::State::status "$D/apt/status";
Dir::Cache "$D/apt/cache";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
Acquire::Languages "none";
Debug::NoLocking "true";
APT::Sandbox::User "root";
CONF
export APT_CONFIG=$D/apt/apt.conf

# Every manylinux tag Bookworm's glibc 2.36 runs: pip --platform does not imply the older ones.
platforms=(--platform manylinux2014_aarch64)
for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
# shellcheck disable=SC2086  # word splitting of the lists is intended
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
    --no-warn-script-location --target "$ROOT/site" --only-binary=:all: "${platforms[@]}" \
    --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none $WHEELS \
    > "$D/pip.log" 2>&1 &
pip_pid=$!
apt-get --quiet update > "$D/apt-update.log"
# shellcheck disable=SC2086
(cd "$D/debs" && apt-get --quiet download $PACKAGES > "$D/apt-download.log")
for deb in "$D"/debs/*.deb; do dpkg-deb -x "$deb" "$ROOT"; done
wait "$pip_pid" || { tail -20 "$D/pip.log" >&2; exit 1; }

mkdir -p "$D/src" && rm -rf "$D/src/edge" && cp -r "$SRC/edge" "$D/src/"  # a copy: no .pyc in SRC
find "$D/src" -name __pycache__ -prune -exec rm -rf {} +
# A Raspberry Pi 4: its CPU as qemu models it, and its /proc/cpuinfo (qemu -L finds this one
# first). LiteRT picks its kernels from both: with the host's x86 cpuinfo it crashes, and with
# this cpuinfo on qemu's default "max" CPU its int8 embeddings come out wrong (the device check
# refuses them).
mkdir -p "$ROOT/proc"
for core in 0 1 2 3; do
    printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$core"
    printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n'
    printf 'CPU part\t: 0xd08\nCPU revision\t: 3\n\n'
done > "$ROOT/proc/cpuinfo"
printf 'Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n' >> "$ROOT/proc/cpuinfo"
cat > "$D/py" <<RUNNER
#!/bin/sh
# arm64 python3.11 under qemu user emulation, as a Pi 4's Cortex-A72; tests/arm64_sysroot.sh
export PYTHONPATH="$ROOT/site:$D/src" PYTHONNOUSERSITE=1 QEMU_CPU=\${QEMU_CPU:-cortex-a72}
unset PYTHONHOME
exec qemu-aarch64-static -L "$ROOT" "$ROOT/usr/bin/python3.11" "\$@"
RUNNER
chmod +x "$D/py"
