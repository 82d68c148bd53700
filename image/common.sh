# Sourced by image/*.sh: the paths, the base image's name and the buildah storage every step shares, and the tools
# they need.
# shellcheck shell=bash
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$REPO/.tools/image  # the base's rootfs while it is made, the wheelhouse, buildah's storage
BASE_IMAGE=${BASE_IMAGE:-localhost/nodewarden-base:bookworm}

# The project's version, read with the project's venv (`make image` and `make image-smoke` install it first).
project_version() {
    "$REPO/.venv/bin/python" -c \
        'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])'
}

# The image a build makes and a smoke test runs: $IMAGE, else localhost/nodewarden:<the project's version>.
image_name() {
    echo "${IMAGE:-localhost/nodewarden:$(project_version)}"
}

# vfs needs no overlay mounts, which a build inside a container may not be allowed to make; its own storage root
# under .tools/ keeps these images apart from any other storage on the machine (a storage already made with another
# driver would refuse vfs) and `make clean` removes it.
bah() {
    buildah --storage-driver vfs --root "$WORK/storage" --runroot "$WORK/run" "$@"
}

# need COMMAND PACKAGE: install Debian's PACKAGE when COMMAND is missing (a fresh CI machine), refreshing apt's lists
# only if the first try fails.
need() {
    command -v "$1" >/dev/null && return
    [ "$(id -u)" = 0 ] || { echo "$1 is missing: apt-get install $2 (as root)" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "$2" || { apt-get update -q && apt-get install -y -q "$2"; }
}
