"""``python -m runner_image`` (``make image``): build the runner image, print its digest.

Writes a docker-archive for ``docker load`` / ``kind load image-archive`` and
prints where the OCI layout is (``skopeo copy oci:LAYOUT:TAG docker://...``
pushes it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from runner_image import build, recipe
from runner_image.sandbox import SandboxError

MIB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner_image", description=__doc__)
    parser.add_argument(
        "--archive",
        type=Path,
        default=recipe.REPO_ROOT / "dist" / f"runner-image-{recipe.version()}.tar",
        help="where to write the docker-archive (default: dist/runner-image-VERSION.tar)",
    )
    parser.add_argument("--no-archive", action="store_true", help="build the OCI layout only")
    parser.add_argument(
        "--rebuild-runner",
        action="store_true",
        help="build the runner layer again even when cached (the base stays cached)",
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=recipe.REPO_ROOT,
        help="the checkout whose runner/ goes into the image (default: this one)",
    )
    args = parser.parse_args(argv)
    began = time.monotonic()
    try:
        image = build.ensure_image(args.repo, rebuild_runner=args.rebuild_runner)
        archive = None if args.no_archive else build.docker_archive(image, args.archive)
    except (build.ImageBuildError, SandboxError) as exc:
        print(f"make image failed: {exc}", file=sys.stderr)
        return 1
    print(f"image:      {image.rootfs.reference}")
    print(f"digest:     {image.digest}")
    print(f"compressed: {image.compressed_bytes / MIB:.1f} MiB")
    print(f"oci layout: {image.layout}:{image.tag}")
    if archive is not None:
        print(f"archive:    {archive}  (docker load -i, kind load image-archive)")
    print(f"took:       {time.monotonic() - began:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
