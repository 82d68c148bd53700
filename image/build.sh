#!/usr/bin/env bash
# Builds $IMAGE (default localhost/nodewarden:<version>) from the Containerfile with buildah, on $BASE (default the
# local base `make image-base` makes; docs/image.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source image/common.sh
VERSION=$(project_version)
IMAGE=$(image_name)
need buildah buildah
image/wheels.sh
base=${BASE:-$BASE_IMAGE}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=$(git remote get-url origin 2>/dev/null || echo unknown)
# chroot isolation: no OCI runtime (crun, runc) needed, it works inside a container, and RUN shares the host network.
bah build --isolation chroot --file Containerfile --tag "$IMAGE" --build-arg "BASE=$base" \
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source_url" .
# The image this one replaced under the same name would stay behind untagged: the storage is this build's own.
bah rmi --prune >/dev/null
bah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$IMAGE"
