"""kubectl-trigger, the kubectl plugin: turns Trigger resources into per-trigger runners.

The plugin validates a Trigger with the runner's own spec model (runner.spec),
renders its least-privilege ServiceAccount, RBAC and runner Deployment, and
writes them with server-side apply. There is no in-cluster controller: the
plugin is the only writer of derived objects. Keep this package's import light:
``kubectl trigger --help`` must answer in well under 0.3 s.
"""

from runner import __version__

__all__ = ["__version__"]
