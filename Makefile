# Entry points for developers and CI. `make test` works on a fresh clone: it creates
# the venv, builds (once, cached) the control-plane binaries, then runs every test.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Go is preinstalled at /usr/local/go on our machines; devcluster.build needs it.
export PATH := $(PATH):/usr/local/go/bin

.PHONY: venv binaries test demo cluster-up cluster-down lint crd image lock zipapp krew tools

# Versions come from the lock (constraints.txt, written by `make lock`), the set CI tests
# and the image and zipapp ship.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt --build-constraint constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

binaries: venv
	$(PY) -m devcluster.build

# pytest exits 5 when it collected nothing: that is a failure too, never a pass.
test: binaries
	@$(PY) -m pytest tests/; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; fi; exit $$rc

# The main job: a trigger firing end to end (local control plane unless KUBECONFIG answers).
demo: binaries
	$(PY) hack/demo.py

# The runner image from Debian's archive with no container engine, reproducibly
# (runner_image/: mmdebstrap, umoci, skopeo, bwrap); prints its digest and size and
# writes dist/runner-image-<version>.tar for `docker load` / `kind load image-archive`.
image: venv
	$(PY) -m runner_image

cluster-up: binaries
	$(PY) -m devcluster up

cluster-down: venv
	$(PY) -m devcluster down

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The CRD manifest and its packaged copy, generated from kubectl_trigger/crd.py
# (tests/unit/test_plugin_crd.py fails when either is stale).
crd: venv
	$(PY) -m kubectl_trigger.crd > manifests/crd.yaml
	cp manifests/crd.yaml kubectl_trigger/manifests/crd.yaml

# Re-resolve pyproject's ranges into exact pins (needs CPython 3.11, 3.12 and 3.13; about a
# minute). Same cut-off date as the current lock unless REFRESH=1 (newer releases).
lock:
	$(PYTHON) hack/lock.py $(if $(REFRESH),--refresh)

# The plugin as one executable file with its dependencies at the locked versions
# (dist/kubectl-trigger.pyz; hack/plugin_zipapp.py).
zipapp: venv
	$(PY) hack/plugin_zipapp.py

# The krew archive (the zipapp as kubectl-trigger, kubectl_complete-trigger, LICENSE) in dist/
# and krew-plugin.yaml with its sha256. Run it after changing the plugin or the runner.
krew: venv
	$(PY) hack/krew_manifest.py

# krew, validate-krew-manifest and actionlint from the Go module proxy (cached; hack/tools.py).
tools: venv
	$(PY) hack/tools.py
