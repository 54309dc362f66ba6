"""``svcpolicy schema``: the JSON Schema of a record, for systems that produce them."""

from __future__ import annotations

import argparse
import sys

import orjson

from svcpolicy.records.model import json_schema


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the schema is the record model's."""


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
