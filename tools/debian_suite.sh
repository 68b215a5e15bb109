#!/usr/bin/env bash
# Runs the test suite under the Python of a Debian release, in a Debian root made with
# debootstrap and kept between runs (`make test-debian13`). Needs root: debootstrap, chroot
# and bind mounts. The checkout is mounted at /livematte/project inside the root and
# ../shared (when present) read-only at /livematte/shared, so the tests see the same layout.
#
# Usage: tools/debian_suite.sh SUITE [PYTEST_ARGS...]
# Environment (the Makefile sets them):
#   DEBIAN_PACKAGES  comma-separated packages for debootstrap --include; the root is made
#                    again when this list, the next one or the suite changes
#   DEBIAN_APT       space-separated packages apt-get installs into the new root afterwards
#                    (those whose setup --include cannot order, such as chromium)
#   DEBIAN_CACHE     where the roots live (default /var/tmp/livematte), outside any clone
#   DEBIAN_MIRROR    Debian archive (default: the first one in this machine's apt sources)
#   DEBIAN_PYTHON    the interpreter inside the root that makes the venv (default python3)
#   EXTRAS           the project's extras for the venv inside the root (default cpu,dev)
#   INSTALL_CHECK    1: after the suite passes, tools/install_check.sh inside the root (the
#                    wheel installed with [cpu] alone, as a user does); only: that check
#                    without the suite; empty (default): the suite alone
set -euo pipefail

die() {
    echo "debian_suite: $*" >&2
    exit 1
}

# Everything the root needs for a run, set up in a private mount namespace (the mounts
# never show outside it and go with it), torn down on any exit.
inside() {
    # Global: the EXIT trap runs after this function returned.
    root=$1
    local cache=$2 project=$3 shared=$4 python=$5 extras=$6
    shift 6
    cleanup() {
        # Anything the tests left running in the root (a Ray node, say) holds its mounts.
        local proc
        for proc in /proc/[0-9]*; do
            if [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ]; then
                kill -9 "${proc#/proc/}" 2>/dev/null || true
            fi
        done
        local point
        for point in root/.cache/pip livematte/shared livematte/project dev sys proc; do
            if mountpoint -q "$root/$point"; then
                umount -R "$root/$point" 2>/dev/null || umount -R -l "$root/$point" || true
            fi
        done
    }
    trap cleanup EXIT
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root/livematte/project" "$root/livematte/shared" "$root/root/.cache/pip"
    # pip's downloads outlive the root and its venv (a new root installs from this cache).
    mkdir -p "$cache/pip"
    mount --bind "$cache/pip" "$root/root/.cache/pip"
    mount --bind "$project" "$root/livematte/project"
    if [ -n "$shared" ]; then
        mount --bind "$shared" "$root/livematte/shared"
        mount -o remount,bind,ro "$root/livematte/shared"
    fi
    # pip reaches the package index through this machine's resolver and trusts the same
    # local certificate authorities (a proxy's, say).
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    cp -L /etc/hosts "$root/etc/hosts"
    if ! diff -qr /usr/local/share/ca-certificates "$root/usr/local/share/ca-certificates" \
        >/dev/null 2>&1; then
        rm -rf "$root/usr/local/share/ca-certificates"
        cp -rL /usr/local/share/ca-certificates "$root/usr/local/share/ca-certificates"
        chroot "$root" /usr/sbin/update-ca-certificates --fresh >/dev/null 2>&1
    fi
    rm -rf "$root/tmp"
    mkdir -m 1777 "$root/tmp"
    local stamp
    stamp="$(sha256sum "$project/pyproject.toml" | cut -d' ' -f1) $python $extras"
    local status=0
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -euc '
            stamp=$1 python=$2 extras=$3 check=$4
            shift 4
            venv=/opt/venv
            cd /livematte/project
            # The venv is made again when pyproject.toml or the extras change; the
            # editable install follows the checkout mounted here on every run.
            if [ "$(cat "$venv/.livematte-stamp" 2>/dev/null)" != "$stamp" ]; then
                echo "debian_suite: installing .[$extras] into a fresh venv"
                rm -rf "$venv"
                "$python" -m venv "$venv"
                "$venv/bin/python" -m pip install --quiet --upgrade pip
                "$venv/bin/python" -m pip install --quiet -e ".[$extras]"
                echo "$stamp" >"$venv/.livematte-stamp"
            fi
            echo "debian_suite: $(. /etc/os-release && echo "$PRETTY_NAME"), $("$venv/bin/python" --version)"
            if [ "$check" != only ]; then
                "$venv/bin/python" -m pytest -q "$@"
            fi
            if [ -n "$check" ]; then
                tools/install_check.sh "$venv/bin/python"
            fi
        ' bash "$stamp" "$python" "$extras" "${INSTALL_CHECK:-}" "$@" || status=$?
    return "$status"
}

if [ "${1:-}" = --inside ]; then
    shift
    inside "$@"
    exit
fi

[ $# -ge 1 ] || die "usage: tools/debian_suite.sh SUITE [PYTEST_ARGS...]"
suite=$1
shift
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and bind mounts); run it with sudo"
packages=${DEBIAN_PACKAGES:?the packages for debootstrap --include (the Makefile sets them)}
cache=${DEBIAN_CACHE:-/var/tmp/livematte}
extras=${EXTRAS:-cpu,dev}
python=${DEBIAN_PYTHON:-python3}
project=$(cd "$(dirname "$0")/.." && pwd -P)
shared=$(realpath -e "$project/../shared" 2>/dev/null || true)

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    # The archive this machine's apt already uses (deb822 and one-line sources alike).
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)
    mirror=${mirror:-http://deb.debian.org/debian}
fi

mkdir -p "$cache"
cache=$(cd "$cache" && pwd -P)
root=$cache/$suite
# One run per root at a time (a developer's and CI's, say).
exec 9>"$cache/$suite.lock"
flock 9

apt_packages=${DEBIAN_APT:-}
wanted="$suite $packages $apt_packages"
if [ "$(cat "$root/.livematte-root" 2>/dev/null)" != "$wanted" ]; then
    if ! command -v debootstrap >/dev/null; then
        command -v apt-get >/dev/null || die "debootstrap is missing and there is no apt-get"
        apt-get install -y -qq debootstrap >/dev/null
    fi
    # A root with anything still mounted inside is never deleted (rm would follow mounts).
    grep -qF " $root/" /proc/self/mountinfo && die "$root has mounts inside; unmount them first"
    # Suites newer than this debootstrap (forky, say) use sid's script.
    script=/usr/share/debootstrap/scripts/$suite
    [ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
    echo "debian_suite: building the $suite root in $root from $mirror"
    rm -rf "$root.new"
    debootstrap --variant=minbase --include="$packages" "$suite" "$root.new" "$mirror" \
        "$script" >"$cache/$suite.debootstrap.log" 2>&1 ||
        die "debootstrap failed; see $cache/$suite.debootstrap.log"
    if [ -n "$apt_packages" ]; then
        # A testing suite's Release expires within days, so a mirror that is a snapshot
        # (like debootstrap, which never checks it) serves it past its date: not checked.
        # shellcheck disable=SC2016
        unshare --mount --propagation private sh -euc '
            mount -t proc proc "$1/proc"
            cp -L /etc/resolv.conf "$1/etc/resolv.conf"
            chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                DEBIAN_FRONTEND=noninteractive sh -euc "
                    apt-get -o Acquire::Check-Valid-Until=false update -q
                    apt-get install -y -q --no-install-recommends $2
                    apt-get clean"
        ' sh "$root.new" "$apt_packages" >>"$cache/$suite.debootstrap.log" 2>&1 ||
            die "apt-get install $apt_packages failed; see $cache/$suite.debootstrap.log"
    fi
    echo "$wanted" >"$root.new/.livematte-root"
    rm -rf "$root"
    mv "$root.new" "$root"
fi

exec unshare --mount --propagation private bash "$project/tools/debian_suite.sh" --inside "$root" \
    "$cache" "$project" "$shared" "$python" "$extras" "$@"
