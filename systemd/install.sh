#!/usr/bin/env bash
# Install, upgrade or remove the reid-edge daemon on Raspberry Pi OS 64-bit (Bookworm or later).
#
#   sudo systemd/install.sh [--bundle BUNDLE.tar.gz]   install or upgrade; swap in a bundle
#   sudo systemd/install.sh --trust KEY.pub [...]      from now on, only bundles signed for KEY
#   sudo systemd/install.sh --rollback                 put bundle.previous back
#   sudo systemd/install.sh --uninstall [--purge]      remove (--purge: config, secrets, key, spool)
#
# Every step compares before it writes, so a second run changes nothing. A new bundle is verified
# (`python -m edge.bundle verify`) before anything is touched and swapped in by renames, keeping
# the old one as bundle.previous; once a key is trusted, the verifier also requires its
# signature, for a new bundle and for a rollback alike. `--root DIR --python PY` stages the same tree under DIR without
# touching the running system (no apt, pip or systemctl): that is how the tests drive it.
set -euo pipefail

readonly PROG=install.sh
readonly UNIT=reid-edge.service
readonly PREFIX=/opt/reid-edge
readonly ETC=/etc/reid-edge
readonly STATE=/var/lib/reid-edge
readonly UNIT_DIR=/etc/systemd/system
readonly WANTS_DIR=/etc/systemd/system/multi-user.target.wants
readonly APT_PACKAGES=(python3-venv python3-picamera2)
# What the wheel is built from (pyproject.toml's readme and package folders).
readonly SOURCE_ITEMS=(pyproject.toml README.md edge train convert demo)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
readonly EXAMPLE_CONFIG="$REPO/examples/reid-edge.toml"
readonly TRUSTED_KEY=$ETC/bundle-key.pub # the config's bundle.trusted_key default

ROOT=""
PYTHON=""
USE_PYTHON=""
BUNDLE_ARCHIVE=""
TRUST_KEY=""
UNPACKED=""
SOURCE=""
ACTION=install
PURGE=0
SCRATCH=()

usage() {
    cat <<EOF
usage: $PROG [--root DIR --python PY] [--trust KEY.pub] [--bundle BUNDLE.tar.gz]
       $PROG [--root DIR --python PY] --rollback
       $PROG [--root DIR] --uninstall [--purge]

  --bundle FILE  verify FILE, then make it the live bundle ($ETC/bundle); the old one is
                 kept as $ETC/bundle.previous
  --trust KEY    install the Ed25519 public key KEY (PEM) as $TRUSTED_KEY: from then on
                 the daemon, --bundle and --rollback refuse a bundle not signed with its
                 private key (reid-convert/reid-enroll --sign)
  --rollback     swap $ETC/bundle and $ETC/bundle.previous
  --uninstall    remove the unit, $PREFIX and the bundles; keeps an edited config, the
                 credentials, the trusted key and the event spool unless --purge is given
  --root DIR     stage into DIR instead of / (no apt, pip or systemctl); needs --python
  --python PY    use this interpreter (which already has the package) instead of building
                 a venv; $PREFIX/venv/bin/reid-edge then links to the reid-edge beside it
EOF
}

say() { printf '%s\n' "$*"; }
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
at() { printf '%s%s' "$ROOT" "$1"; }
live() { [ -z "$ROOT" ]; }
# On a Pi systemd is always there; in an image being prepared (a chroot, `make pi-check`) it is
# not, and the unit is then enabled by a link as for --root, which check_system says once.
with_systemd() { live && command -v systemctl >/dev/null; }
cleanup() { [ ${#SCRATCH[@]} -eq 0 ] || rm -rf -- "${SCRATCH[@]}"; }
trap cleanup EXIT

value_of() {
    [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
    printf '%s' "$2"
}

parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --root) ROOT=$(value_of "$@"); shift ;;
            --python) USE_PYTHON=$(value_of "$@"); shift ;;
            --bundle) BUNDLE_ARCHIVE=$(value_of "$@"); shift ;;
            --trust) TRUST_KEY=$(value_of "$@"); shift ;;
            --rollback) ACTION=rollback ;;
            --uninstall) ACTION=uninstall ;;
            --purge) PURGE=1 ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
        shift
    done
    if [ -n "$ROOT" ]; then
        [ -d "$ROOT" ] || die "--root $ROOT: no such directory"
        ROOT=$(cd "$ROOT" && pwd)
        [ "$ROOT" != / ] || die "--root /: leave --root out to install on this system"
        # A venv is bound to its absolute path: one built under a staging root would not run.
        [ "$ACTION" = uninstall ] || [ -n "$USE_PYTHON" ] || die "--root needs --python"
    fi
    [ -z "$BUNDLE_ARCHIVE" ] || [ -f "$BUNDLE_ARCHIVE" ] || die "$BUNDLE_ARCHIVE: no such file"
    [ -z "$TRUST_KEY" ] || [ -f "$TRUST_KEY" ] || die "$TRUST_KEY: no such file"
}

check_system() {
    live || return 0
    [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...)"
    # The user space, not the kernel: 32-bit Raspberry Pi OS boots a 64-bit kernel on a Pi 4/5,
    # so `uname -m` says aarch64 there.
    [ "$(getconf LONG_BIT)" = 64 ] ||
        die "32-bit OS: LiteRT has no wheels for it; flash Raspberry Pi OS (64-bit)"
    with_systemd || say "systemctl not found (a chroot or an image, not a booted Pi):" \
        "the unit is enabled by a link and nothing is started"
}

# --- Writing only what differs ---------------------------------------------------------------

# ensure_dir DIR MODE: create DIR (under the root) if missing; fix its mode if it differs.
ensure_dir() {
    local dir mode=$2
    dir=$(at "$1")
    [ -d "$dir" ] || { mkdir -p "$dir"; say "created $1"; }
    [ "$(stat -c %a "$dir")" = "${mode#0}" ] || chmod "$mode" "$dir"
}

# install_file SRC DEST MODE: copy when content or mode differ, via a temp file and a rename
# so a reader never sees half a file. Returns 0 when it wrote, 1 when DEST was already right.
install_file() {
    local src=$1 dest mode=$3 tmp
    dest=$(at "$2")
    if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
        return 1
    fi
    tmp=$(mktemp "$dest.XXXXXX")
    SCRATCH+=("$tmp")
    cp "$src" "$tmp"
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$dest"
    say "installed $2"
}

# ensure_link TARGET LINK: point LINK (under the root) at TARGET unless it already does.
ensure_link() {
    local target=$1 link
    link=$(at "$2")
    [ "$(readlink "$link" 2>/dev/null)" != "$target" ] || return 0
    ln -sfn "$target" "$link"
    say "linked $2 -> $target"
}

# --- Python environment ------------------------------------------------------------------------

setup_python() {
    ensure_dir "$PREFIX" 0755
    if [ -n "$USE_PYTHON" ]; then
        use_existing_python
    else
        build_venv
    fi
}

use_existing_python() {
    local bindir
    PYTHON=$USE_PYTHON
    "$PYTHON" -c 'import edge.config' 2>/dev/null || die "$PYTHON cannot import the edge package"
    bindir=$(cd "$(dirname "$PYTHON")" && pwd)
    [ -x "$bindir/reid-edge" ] || die "$bindir/reid-edge not found beside $PYTHON"
    ensure_dir "$PREFIX/venv" 0755
    ensure_dir "$PREFIX/venv/bin" 0755
    ensure_link "$bindir/reid-edge" "$PREFIX/venv/bin/reid-edge"
}

# The venv sees the system site-packages because Picamera2 and the libcamera bindings only come
# from apt (python3-picamera2); pip cannot build them.
build_venv() {
    local venv=$PREFIX/venv stamp
    install_apt_packages
    # A venv whose Python went away (an OS upgrade) is rebuilt from scratch.
    if ! "$venv/bin/python" -c '' 2>/dev/null; then
        python3 -m venv --clear --system-site-packages "$venv"
        say "created $venv"
    fi
    PYTHON=$venv/bin/python
    stage_source
    stamp="$("$PYTHON" -V) $(cd "$SOURCE" && find . -type f -print0 | sort -z |
        xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$venv/.reid-edge-source" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    pip_install_edge
    printf '%s\n' "$stamp" >"$venv/.reid-edge-source"
}

# stage_source: copy what pip builds from into a temp dir, named in SOURCE. pip builds a local
# project in place; run as root in the user's checkout that would leave root-owned build/ and
# *.egg-info behind. The same copy gives the stamp: an unchanged checkout skips pip entirely.
stage_source() {
    local item
    SOURCE=$(mktemp -d)
    SCRATCH+=("$SOURCE")
    for item in "${SOURCE_ITEMS[@]}"; do
        [ ! -e "$REPO/$item" ] || cp -r "$REPO/$item" "$SOURCE/"
    done
    find "$SOURCE" -name __pycache__ -prune -exec rm -rf {} +
}

install_apt_packages() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    apt-get update -qq
    local available=()
    for pkg in "${missing[@]}"; do
        if apt-cache show "$pkg" >/dev/null 2>&1; then
            available+=("$pkg")
        else  # python3-picamera2 exists only in Raspberry Pi OS's archive
            say "apt: $pkg is not in this system's package sources: skipped" \
                "(Raspberry Pi OS has it; without it the camera source is unavailable)"
        fi
    done
    [ ${#available[@]} -eq 0 ] && return 0
    say "apt: installing ${available[*]}"
    apt-get install -y -qq --no-install-recommends "${available[@]}"
}

# `.[edge]` brings ai-edge-litert, which has aarch64 wheels for CPython 3.10-3.13. Where it has
# none for this Python, fall back to tflite-runtime (wheels up to 3.11) with the other edge
# dependencies read from pyproject.toml, so their pins live in one place.
pip_install_edge() {
    local pip=("$PYTHON" -m pip install --quiet --disable-pip-version-check) numpy_pin=() deps
    # Apt's simplejpeg (imported by Picamera2) is built against the system numpy; a numpy of
    # another major version in the venv breaks `import picamera2` (picamera2 issue #1088).
    if /usr/bin/python3 -c 'import numpy, sys; sys.exit(numpy.__version__[0] != "1")' 2>/dev/null; then
        numpy_pin=("numpy<2")
    fi
    say "pip: installing $REPO[edge] into $PREFIX/venv (a few minutes on a Pi)"
    if "${pip[@]}" "$SOURCE[edge]" "${numpy_pin[@]}"; then
        return 0
    fi
    say "pip: no ai-edge-litert for this Python; trying tflite-runtime instead"
    deps=$("$PYTHON" - "$SOURCE/pyproject.toml" <<'EOF'
import sys, tomllib
extras = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["edge"]
print("\n".join(d for d in extras if not d.startswith("ai-edge-litert")))
EOF
)
    mapfile -t deps <<<"$deps"
    "${pip[@]}" "$SOURCE" "${deps[@]}" tflite-runtime "${numpy_pin[@]}" ||
        die "pip could not install the edge runtime (see the messages above)"
}

# --- Config, unit -----------------------------------------------------------------------------

install_config() {
    ensure_dir "$ETC" 0755
    # Secrets for LoadCredential=; only root (PID 1) reads them.
    ensure_dir "$ETC/credentials" 0700
    # LoadCredential= fails the start when its file is missing; empty means "no password".
    if [ ! -e "$(at "$ETC/credentials/mqtt-password")" ]; then
        install -m 0600 /dev/null "$(at "$ETC/credentials/mqtt-password")"
        say "created $ETC/credentials/mqtt-password (empty: no broker password)"
    fi
    install_file "$EXAMPLE_CONFIG" "$PREFIX/reid-edge.toml.example" 0644 || true
    # The user's config is never overwritten: only a missing one is created from the example.
    if [ ! -e "$(at "$ETC/reid-edge.toml")" ]; then
        install_file "$EXAMPLE_CONFIG" "$ETC/reid-edge.toml" 0644 || true
    fi
    check_config
}

check_config() {
    local message
    message=$("$PYTHON" - "$(at "$ETC/reid-edge.toml")" 2>&1 <<'EOF'
import sys
from edge.config import load_config
from edge.errors import ConfigError
try:
    load_config(sys.argv[1])
except ConfigError as error:
    sys.exit(str(error))
EOF
) || say "warning: $message"
}

install_unit() {
    ensure_dir "$UNIT_DIR" 0755
    ensure_dir "$WANTS_DIR" 0755
    local changed=0
    install_file "$REPO/systemd/$UNIT" "$UNIT_DIR/$UNIT" 0644 && changed=1
    if with_systemd; then
        [ $changed -eq 0 ] || systemctl daemon-reload
        systemctl is-enabled --quiet "$UNIT" || systemctl enable "$UNIT"
        if [ ! -d "$ETC/bundle" ]; then
            say "no bundle yet: the service starts after $PROG --bundle BUNDLE.tar.gz"
        elif [ $changed -eq 1 ] || ! systemctl is-active --quiet "$UNIT"; then
            # Type=notify: this waits for the daemon's READY=1.
            systemctl restart "$UNIT" || die "the service did not start (journalctl -u $UNIT)"
        fi
    else
        # What `systemctl enable` does, done by hand for an image that boots later.
        ensure_link "$UNIT_DIR/$UNIT" "$WANTS_DIR/$UNIT"
    fi
}

# --- Bundle ----------------------------------------------------------------------------------

# trusted_key: the key bundles must be signed for (the one being installed by --trust, else
# the installed one); prints nothing when no key is trusted.
trusted_key() {
    if [ -n "$TRUST_KEY" ]; then
        printf '%s' "$TRUST_KEY"
    elif [ -f "$(at "$TRUSTED_KEY")" ]; then
        at "$TRUSTED_KEY"
    fi
}

# verify_bundle PATH: the one place a bundle is judged; prints the verifier's one line.
verify_bundle() {
    local key
    key=$(trusted_key)
    "$PYTHON" -m edge.bundle verify "$1" ${key:+--trusted-key "$key"} 2>&1
}

# require_sound_key, then install_trust: --trust KEY must be an Ed25519 public key; it is
# installed after the bundle checks, so a refused bundle leaves the system as it was.
require_sound_key() {
    local message
    message=$("$PYTHON" -m edge.signing "$TRUST_KEY" 2>&1) || die "${message##*$'\n'}"
}

install_trust() {
    ensure_dir "$ETC" 0755
    install_file "$TRUST_KEY" "$TRUSTED_KEY" 0644 || true
}

require_sound_bundle() {
    local message
    message=$(verify_bundle "$1") || die "${message##*$'\n'} ($ETC/bundle is unchanged)"
}

# unpack_bundle ARCHIVE: unpack into a new directory beside the live bundle, named in UNPACKED.
unpack_bundle() {
    local work top
    work=$(mktemp -d "$(at "$ETC")/.bundle-new.XXXXXX")
    SCRATCH+=("$work")
    tar -xzf "$1" -C "$work" --no-same-owner --no-same-permissions 2>/dev/null ||
        die "$1: cannot unpack, $ETC/bundle is unchanged"
    if [ ! -f "$work/manifest.json" ]; then
        top=$(find "$work" -mindepth 1 -maxdepth 1)
        [ -f "$top/manifest.json" ] || die "$1: no manifest.json at the top of the archive"
        SCRATCH+=("$work.d")
        mv -T "$top" "$work.d"
        rmdir "$work"
        work=$work.d
    fi
    # The daemon runs as a transient user: it must be able to read what root unpacked.
    chmod -R u=rwX,go=rX "$work"
    UNPACKED=$work
}

# is_live_bundle ARCHIVE: true when the live bundle is sound and has the archive's manifest
# (which holds every file's SHA-256), so a re-run writes nothing, not even a temp dir.
is_live_bundle() {
    local current listing member
    current=$(at "$ETC/bundle")
    [ -f "$current/manifest.json" ] || return 1
    listing=$(tar -tzf "$1" 2>/dev/null) || return 1
    member=$(grep -E -m1 '^(\./)?([^/]+/)?manifest\.json$' <<<"$listing") || return 1
    tar -xzOf "$1" "$member" | cmp -s - "$current/manifest.json" || return 1
    verify_bundle "$current" >/dev/null
}

install_bundle() {
    local current previous
    current=$(at "$ETC/bundle")
    previous=$current.previous
    if is_live_bundle "$1"; then
        say "bundle unchanged: $ETC/bundle"
        return 0
    fi
    unpack_bundle "$1"
    require_sound_bundle "$UNPACKED"
    rm -rf -- "$previous"
    [ ! -d "$current" ] || mv -T "$current" "$previous"
    if ! mv -T "$UNPACKED" "$current"; then
        [ ! -d "$previous" ] || mv -T "$previous" "$current"
        die "cannot rename the new bundle into place, $ETC/bundle is unchanged"
    fi
    if [ -d "$previous" ]; then
        say "bundle installed: $ETC/bundle (the one before is $ETC/bundle.previous)"
    else
        say "bundle installed: $ETC/bundle"
    fi
    restart_service && return 0
    # The daemon refused the new bundle (it verified, but e.g. does not fit this config): go back
    # to the one that ran, keeping the refused one as bundle.previous to look at.
    [ -d "$previous" ] || die "the service did not start on the new bundle (journalctl -u $UNIT)"
    swap_with_previous
    restart_service || true
    die "the service did not start on the new bundle; rolled back (journalctl -u $UNIT)"
}

# swap_with_previous: exchange bundle and bundle.previous by three renames.
swap_with_previous() {
    local current previous swap
    current=$(at "$ETC/bundle")
    previous=$current.previous
    swap=$(mktemp -d "$(at "$ETC")/.bundle-swap.XXXXXX")
    rmdir "$swap"
    [ ! -d "$current" ] || mv -T "$current" "$swap"
    mv -T "$previous" "$current"
    [ ! -d "$swap" ] || mv -T "$swap" "$previous"
}

rollback_bundle() {
    [ -d "$(at "$ETC/bundle.previous")" ] || die "no $ETC/bundle.previous to roll back to"
    require_sound_bundle "$(at "$ETC/bundle.previous")"
    swap_with_previous
    say "rolled back: $ETC/bundle is the previous bundle; run --rollback again to undo"
    restart_service || die "the service did not start on the rolled-back bundle (journalctl -u $UNIT)"
}

# restart_service: restart an enabled service (waits for READY=1); false when it fails to start.
restart_service() {
    with_systemd || return 0
    systemctl is-enabled --quiet "$UNIT" || return 0
    systemctl restart "$UNIT"
}

# --- Uninstall -------------------------------------------------------------------------------

uninstall() {
    if with_systemd; then
        systemctl disable --now "$UNIT" 2>/dev/null || true
    fi
    rm -f -- "$(at "$WANTS_DIR/$UNIT")" "$(at "$UNIT_DIR/$UNIT")"
    if with_systemd; then
        systemctl daemon-reload
    fi
    local config example
    config=$(at "$ETC/reid-edge.toml")
    example=$(at "$PREFIX/reid-edge.toml.example")
    if [ $PURGE -eq 1 ] || { [ -f "$example" ] && cmp -s "$config" "$example"; }; then
        rm -f -- "$config"
    elif [ -f "$config" ]; then
        say "kept $ETC/reid-edge.toml (edited); --purge removes it"
    fi
    rm -rf -- "$(at "$PREFIX")" "$(at "$ETC/bundle")" "$(at "$ETC/bundle.previous")"
    # The empty placeholder is ours; a password someone wrote stays unless --purge.
    local password
    password=$(at "$ETC/credentials/mqtt-password")
    [ -s "$password" ] || rm -f -- "$password"
    rm -rf -- "$(at "$ETC")"/.bundle-*
    if [ $PURGE -eq 1 ]; then
        rm -rf -- "$(at "$TRUSTED_KEY")" "$(at "$ETC/credentials")" "$(at "$STATE")"
        rm -rf -- "$(at /var/lib/private/reid-edge)"
    fi
    rmdir -- "$(at "$ETC/credentials")" "$(at "$ETC")" 2>/dev/null || true
    say "uninstalled reid-edge"
}

main() {
    parse_args "$@"
    check_system
    case "$ACTION" in
        uninstall) uninstall ;;
        rollback)
            setup_python
            rollback_bundle
            ;;
        install)
            setup_python
            # A bad key or bundle is refused before anything else on the system changes.
            [ -z "$TRUST_KEY" ] || require_sound_key
            [ -z "$BUNDLE_ARCHIVE" ] || require_sound_bundle "$BUNDLE_ARCHIVE"
            [ -z "$TRUST_KEY" ] || install_trust
            install_config
            [ -z "$BUNDLE_ARCHIVE" ] || install_bundle "$BUNDLE_ARCHIVE"
            install_unit
            ;;
    esac
}

main "$@"
