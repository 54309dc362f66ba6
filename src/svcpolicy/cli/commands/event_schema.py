"""``svcpolicy event-schema``: the JSON Schema of an event, for systems that emit them to ``svcpolicy watch``."""

from __future__ import annotations

import argparse
import sys

import orjson


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the schema is the event model's."""


def run(args: argparse.Namespace) -> int:
    from svcpolicy.records.events import event_json_schema

    sys.stdout.write(orjson.dumps(event_json_schema(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
