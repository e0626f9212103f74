"""The Trigger spec: parsed once into frozen, typed config the engine runs on.

Everything that turns raw YAML/JSON strings into checked values lives here
(JSONPath, selectors, cron, durations, templates), so the engine never sees a
raw string and every error carries the path of the bad field.
"""
