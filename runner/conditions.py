"""The condition types and reasons a Trigger's status speaks, in one place for both sides.

The runner writes them (runner.status, runner.sync, runner.main); the plugin
reads them (``get``/``describe`` check Ready against the runner pods) and writes
some itself when it renders a new generation (kubectl_trigger.rendered_status).
Both import them from here, so a reason cannot be renamed on one side only.
No imports: the plugin's ``get`` and the runner's start-up pay nothing for it.
"""

from __future__ import annotations

#: condition types
READY = "Ready"
WATCHING = "Watching"
SPEC_IN_SYNC = "SpecInSync"

#: Ready reasons (docs/runner.md#conditions)
RUNNING = "Running"
RUNNER_STARTING = "RunnerStarting"
SOURCE_UNAVAILABLE = "SourceUnavailable"
SPEC_NOT_RENDERED = "SpecNotRendered"
RUNNER_STOPPED = "RunnerStopped"
RUNNER_FAILED = "RunnerFailed"
#: the spec does not parse (also the Warning Event's reason)
SPEC_INVALID = "SpecInvalid"
#: a namespaced Trigger (made by an older version) whose spec reaches other namespaces
OUTSIDE_NAMESPACE = "OutsideNamespace"

#: SpecInSync reasons: the runner runs the Trigger's spec; it was changed without the
#: plugin; the plugin rendered this generation (a newer runner is on its way)
IN_SYNC = "RenderedSpecRunning"
EDITED = "SpecChangedOutsidePlugin"
RENDERED = "Rendered"
