"""``kubectl trigger version``: the plugin's version, its default runner image, the server's."""

from __future__ import annotations

from typing import Annotated

import typer

from kubectl_trigger import options


def version(
    client_only: Annotated[
        bool, typer.Option("--client", help="Only the plugin's version; no cluster call.")
    ] = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
) -> None:
    """Print the plugin version, the default runner image and the API server version."""
    from runner import API_VERSION, DEFAULT_IMAGE, __version__

    print(f"Plugin Version: {__version__}")
    print(f"Runner Image: {DEFAULT_IMAGE}")
    print(f"Trigger API: {API_VERSION}")
    if client_only:
        return
    from kubectl_trigger.errors import translated

    sess = options.session(kubeconfig, context, None)
    with translated("server version"):
        info = sess.client.request("GET", "/version")
    print(f"Server Version: {info.get('gitVersion', 'unknown')}")
