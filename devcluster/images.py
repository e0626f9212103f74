"""Which container images the pod emulator runs, and how.

Two parties must agree on this list: the pod emulator, which starts the
process, and kwok's stages, which leave the deletion of those pods to the
emulator (it deletes a pod only once its process has stopped, as a kubelet
would). Both read the table here, so they cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EmulatedImage:
    """An allowlisted image: a regular expression over the full image reference.

    ``entrypoint`` stands in for the image's ENTRYPOINT when a container gives
    no ``command``; None means the pod must give one. ``from_rootfs``: the
    container runs inside the runner image's rootfs (built from this checkout
    by runner_image), not as a plain process on the host.
    """

    pattern: str
    entrypoint: tuple[str, ...] | None
    from_rootfs: bool = False


#: The runner image (any tag or digest), run from the image this checkout builds, and
#: throwaway test images, run on the host (their commands are test scripts).
#: Patterns use the syntax shared by Python's re and Go's regexp (kwok uses the latter).
EMULATED_IMAGES: tuple[EmulatedImage, ...] = (
    EmulatedImage(
        r"^ghcr\.io/kubectl-trigger/runner(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?(@sha256:[0-9a-f]{64})?$",
        ("python", "-m", "runner"),
        from_rootfs=True,
    ),
    EmulatedImage(r"^localhost/kt-test/[^\s]+$", None),
)

#: One expression matching any allowlisted image.
PATTERN = "|".join(f"(?:{image.pattern})" for image in EMULATED_IMAGES)
_COMPILED = [(re.compile(image.pattern), image) for image in EMULATED_IMAGES]


def lookup(image: str) -> EmulatedImage | None:
    """The allowlist entry for ``image``, or None if the emulator must not run it."""
    for regex, entry in _COMPILED:
        if regex.search(image):
            return entry
    return None
