"""One module per subcommand; kubectl_trigger.cli wires them into the typer app.

A command module imports only what --help needs at module level; everything
heavy (YAML, the spec model, the API client, rich) is imported inside the
command function.
"""
