"""The kubectl-trigger runner: one small process per Trigger.

source -> keyed queue -> filters -> actions, with status, Events and metrics.
The runner never imports the plugin (kubectl_trigger); the plugin imports the
runner's spec model and validation so both agree on what a valid Trigger is.
"""

__version__ = "0.1.0"

API_GROUP = "triggers.kubectl-trigger.dev"
API_VERSION = f"{API_GROUP}/v1alpha1"
FIELD_MANAGER = "kubectl-trigger"
DEFAULT_IMAGE = f"ghcr.io/kubectl-trigger/runner:{__version__}"
#: Where the plugin stores the spec with every TriggerTemplate ``use`` expanded;
#: the runner runs that spec when present, so it never needs to read templates.
ANNOTATION_EXPANDED_SPEC = f"{API_GROUP}/expanded-spec"
