#!/usr/bin/env bash
# Makes the local base image ($BASE_IMAGE, default localhost/nodewarden-base:bookworm) that `make image` builds on
# where no registry can be reached: a minimal Debian bookworm with python3, from Debian's packages (debootstrap),
# committed with buildah. Runs as root (debootstrap makes device nodes and chroots). An image already in the storage
# is kept; REBUILD=1 makes it again.
set -euo pipefail
cd "$(dirname "$0")/.."
source image/common.sh
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
need debootstrap debootstrap
need buildah buildah
if [ -z "${REBUILD:-}" ] && bah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "$BASE_IMAGE is there (REBUILD=1 makes it again)"
    exit 0
fi
rootfs=$WORK/base-rootfs
rm -rf "$rootfs" && mkdir -p "$rootfs"
# minbase: essential packages and apt only. python3-venv brings python3 and the pip wheel the builder stage's venv
# needs; ca-certificates lets TLS reach ARM and Entra ID through the system store as well as certifi.
debootstrap --variant=minbase --include=python3-venv,ca-certificates bookworm "$rootfs" "$MIRROR" \
    >"$WORK/debootstrap.log" || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
# What a container never reads: docs (but each package's copyright), man pages, translations, apt's caches and lists,
# logs, and the host's resolver and name (the runtime mounts its own).
find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
find "$rootfs/usr/share/doc" -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,locale,lintian} "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname
container=$(bah from scratch)
trap 'bah rm "$container" >/dev/null 2>&1 || true' EXIT  # gone already once committed
cp -a "$rootfs"/. "$(bah mount "$container")"/
bah umount "$container" >/dev/null
bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --cmd /usr/bin/python3 \
    --created-by "debootstrap --variant=minbase --include=python3-venv,ca-certificates bookworm" \
    --label org.opencontainers.image.title=nodewarden-base \
    --label "org.opencontainers.image.description=Debian bookworm minbase with python3 (debootstrap, $MIRROR)" \
    "$container"
bah commit --quiet --rm "$container" "$BASE_IMAGE" >/dev/null
rm -rf "$rootfs"
bah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$BASE_IMAGE"
