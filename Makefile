# Two commands for a new user: `make demo` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

KUBECTL_120 := .tools/kubectl-1.20/usr/bin/kubectl
KUBECTL_120_DEB := kubernetes-client=1.20.5+really1.20.2-1.1+deb12u1
PROMTOOL := .tools/prometheus/usr/bin/promtool
PROMETHEUS_DEB := prometheus=2.42.0+ds-5+deb12u1

.PHONY: demo test lint typecheck unit tools docs bench clean image-base image image-smoke image-lock

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## the whole loop on the twin: audit, controller, two drills, reports in ./nodewarden-demo/
	$(BIN)/nodewarden demo

test: $(STAMP) lint typecheck unit  ## ruff, mypy, import contracts and the whole test suite

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/ruff format --check src tests bench examples scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Real tools the tests use, from Debian's packages unpacked into .tools/ (no root needed; their /usr/bin files would
# clash with other packages): kubectl 1.20 (kubernetes-client) drives the twin, promtool (prometheus) checks and
# unit-tests the alert rules. Without apt (not Debian) their tests skip, unless NODEWARDEN_REQUIRE_TOOLS=1 (as in
# .ci/run) makes that a failure.
tools: $(KUBECTL_120) $(PROMTOOL)

$(KUBECTL_120):
	@$(call unpack,$(KUBECTL_120_DEB),kubernetes-client,kubectl-1.20)

$(PROMTOOL):
	@$(call unpack,$(PROMETHEUS_DEB),prometheus,prometheus)

# $(call unpack,package=version,package,folder): apt-get download (refreshing apt's lists once if it must and may)
define unpack
mkdir -p .tools/download-$(3) && \
if command -v apt-get >/dev/null; then \
	cd .tools/download-$(3) && { apt-get download -q $(1) || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get download -q $(1); }; } && \
	cd ../.. && dpkg -x .tools/download-$(3)/$(2)_*.deb .tools/$(3) && rm -rf .tools/download-$(3); \
else echo "no apt-get: $(2) not installed, its tests will skip"; fi
endef

unit: $(STAMP) tools  ## tests run 4 at a time: most of their time is waiting on twin HTTP round trips, not CPU
	$(BIN)/pytest -n 4 --dist loadgroup

docs: $(STAMP)  ## regenerate docs/rules.md, docs/policy.md and docs/notifications.md from the catalog and the schemas
	$(BIN)/nodewarden rules -o markdown > docs/rules.md
	$(BIN)/nodewarden policy schema > docs/policy.md
	$(BIN)/nodewarden notify schema > docs/notifications.md

bench: $(STAMP)  ## the audit, the twin, the live caches and the journal at 5,000 nodes against baselines in the same run; the demo's wall time
	$(BIN)/python bench/audit_scale.py
	$(BIN)/python bench/twin_scale.py
	$(BIN)/python bench/observe_scale.py
	$(BIN)/python bench/journal_scale.py
	$(BIN)/python bench/demo_time.py

# The HTML postmortems in headless Chromium (Debian's `chromium`; `apt-get install -y chromium`), not part of `make
# test`: the demo's postmortems at 1,400 and 800 pixels wide as PNGs, and layout.txt with each page's height and any
# table wider than its page (scripts/postmortem_screens.py). REPORTS=<demo output> skips running the demo.
.PHONY: postmortem-screens
postmortem-screens: $(STAMP)  ## screenshots of the demo's HTML postmortems into ./postmortem-screens/ (needs chromium)
	$(BIN)/python scripts/postmortem_screens.py --output postmortem-screens $(if $(REPORTS),--reports $(REPORTS),)

# The container image (docs/image.md), built with buildah (vfs storage in .tools/image/, chroot isolation): as root,
# and buildah and debootstrap come from apt when missing. BASE=<image> builds on that base instead of the local one.
image-base:  ## a minimal Debian bookworm with python3 (debootstrap), committed as localhost/nodewarden-base:bookworm
	image/make-base.sh

image: $(STAMP) $(if $(BASE),,image-base)  ## the Containerfile on BASE (default: the local base)
	BASE='$(BASE)' image/build.sh

image-smoke: image  ## in the image, as uid 65532 on a read-only root: --version, one cycle against a twin
	image/smoke.sh

image-lock: $(STAMP)  ## refresh image/requirements.lock from pyproject.toml's dependencies
	image/lock.sh

clean:
	rm -rf $(VENV) .tools .mypy_cache .pytest_cache .ruff_cache
