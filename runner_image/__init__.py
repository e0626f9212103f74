"""The runner image, built with no container engine and run from its rootfs.

``python -m runner_image`` (``make image``) builds ``ghcr.io/kubectl-trigger/runner``
from Debian's archive (mmdebstrap), the locked urllib3 and tzdata wheels and this
checkout's ``runner/``, as an OCI layout (umoci) and a docker-archive (skopeo). It
has two layers: a base (Debian, wheels) cached by its inputs, and the runner,
cached by the content of ``runner/``, so a runner change rebuilds only that layer.
The pod emulator and the e2e tests run the runner from the very directories the
layers are made of (``runner_image.sandbox``), so tests exercise what a cluster pulls.
"""
