#!/usr/bin/env bash
# Runs the built image ($IMAGE) the way deploy/base/controller.yaml runs it: as uid 65532, the root file system
# read-only, /tmp and the state dir on tmpfs. Checks `nodewarden --version`, then one `nodewarden run --once` cycle
# against a twin started on this machine (chroot isolation shares the host's network, so the image reaches the
# twin's 127.0.0.1 address; its folder is mounted read-only at the same path, which its settings name: a folder under
# /var/tmp, never under /tmp, where the image's tmpfs would hide the mount point the read-only run needs).
set -euo pipefail
cd "$(dirname "$0")/.."
source image/common.sh
VERSION=$(project_version)
IMAGE=$(image_name)
need buildah buildah
smoke=$(mktemp -d /var/tmp/nodewarden-smoke.XXXXXX)
container=nodewarden-smoke
twin_pid=
read_only=()
cleanup() {
    [ -n "$twin_pid" ] && kill "$twin_pid" 2>/dev/null && wait "$twin_pid" 2>/dev/null
    for dir in "${read_only[@]}"; do umount "$dir" || true; done
    bah rm "$container" >/dev/null 2>&1 || true
    rm -rf "$smoke"
}
trap cleanup EXIT
bah rm "$container" >/dev/null 2>&1 || true
mkdir -p "$smoke/twin"

in_image() {
    bah run --isolation chroot --user 65532:65532 --mount type=tmpfs,destination=/tmp \
        --mount type=tmpfs,destination=/var/lib/nodewarden --volume "$smoke/twin:$smoke/twin:ro" "$container" -- "$@"
}

bah from --quiet --pull=never --name "$container" "$IMAGE" >/dev/null
version=$(in_image nodewarden --version)
echo "in the image: $version"
[ "$version" = "nodewarden $VERSION" ] || { echo "expected nodewarden $VERSION" >&2; exit 1; }

# The first run made the mount points the next one needs (/etc/hosts, /etc/resolv.conf, the twin's folder), so the
# root can now be read-only. buildah run has no flag for it: bind every top-level folder read-only onto itself, all
# but /run, where buildah itself must remove the /run/.containerenv it mounts (buildah 1.28 fails, and crashes,
# when it cannot) and which uid 65532 cannot write anyway.
rootfs=$(bah mount "$container")
for dir in "$rootfs"/*/; do
    dir=${dir%/}
    case ${dir##*/} in run | proc | sys | dev) continue ;; esac
    [ -L "$dir" ] && continue
    mount --bind "$dir" "$dir" && read_only+=("$dir") && mount -o remount,bind,ro "$dir"
done

PYTHONUNBUFFERED=1 .venv/bin/nodewarden twin serve --scenario small --state-dir "$smoke/twin" >"$smoke/twin.log" 2>&1 &
twin_pid=$!
for _ in $(seq 150); do
    grep -q "serving at" "$smoke/twin.log" && break
    kill -0 "$twin_pid" 2>/dev/null || { cat "$smoke/twin.log" >&2; exit 1; }
    sleep 0.2
done
grep -q "serving at" "$smoke/twin.log" || { echo "the twin did not start in 30 s" >&2; exit 1; }
# The twin writes its kubeconfig and Azure settings 0600 for the user it runs as; the image's user must read them.
chown -R 65532:65532 "$smoke/twin"

# --listen 127.0.0.1:0: the host's network is shared, and 9464 may be taken by a controller running here.
output=$(in_image nodewarden run --once --twin "$smoke/twin" --state-dir /var/lib/nodewarden \
    --listen 127.0.0.1:0 2>&1) || { echo "$output" >&2; echo "nodewarden run --once failed in the image" >&2; exit 1; }
echo "$output"
grep -q "nodewarden.run cycle nodes=" <<<"$output" || { echo "no cycle in the output" >&2; exit 1; }
echo "smoke: $IMAGE ran one cycle against the twin as uid 65532 on a read-only root"
