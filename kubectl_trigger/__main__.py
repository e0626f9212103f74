"""``python -m kubectl_trigger``: the same CLI as the ``kubectl-trigger`` script."""

from kubectl_trigger.cli import main

if __name__ == "__main__":
    main()
