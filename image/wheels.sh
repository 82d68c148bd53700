#!/usr/bin/env bash
# Fills the wheelhouse the Containerfile's builder stage installs from (it has no index: the build may not reach
# one, nor see this machine's pip configuration): every pin of image/requirements.lock and the build backend
# pyproject.toml names, as wheels for CPython 3.11 on Linux x86_64, fetched with this machine's pip settings.
set -euo pipefail
cd "$(dirname "$0")/.."
source image/common.sh
wheels=$WORK/wheels
build_requires=$(.venv/bin/python -c \
    'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"])')
rm -rf "$wheels"
# shellcheck disable=SC2086  # one argument per build requirement
.venv/bin/python -m pip download --quiet --no-deps --only-binary :all: --dest "$wheels" \
    -r image/requirements.lock $build_requires
