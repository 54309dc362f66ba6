"""Draw svcpolicy's rooms and the imports between them, as a Mermaid graph for docs/architecture.md.

Run with `make import-graph`. The drawing is made from the real import graph (grimp, which import-linter uses),
so it shows any cycle that exists; `make lint` fails on one, so a committed drawing shows none.
"""

from __future__ import annotations

import sys

import grimp

ROOT = "svcpolicy"
# The documented exception (pyproject.toml's [tool.importlinter]): a Report's auditor views import writers lazily.
LAZY_VIEWS = "results -> reporting"


def rooms(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    """For each room (a direct child of the package), the rooms it imports."""
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if not module.startswith(ROOT + "."):
            continue
        room = module.split(".")[1]
        edges.setdefault(room, set())
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(ROOT + ".") and (target := imported.split(".")[1]) != room:
                edges[room].add(target)
    return edges


def mermaid(edges: dict[str, set[str]]) -> str:
    lines = ["```mermaid", "graph TD"]
    for room in sorted(edges):
        for target in sorted(edges[room]):
            arrow = "-.->" if f"{room} -> {target}" == LAZY_VIEWS else "-->"
            lines.append(f"    {room.strip('_')} {arrow} {target.strip('_')}")
    lines.append("```")
    return "\n".join(lines)


def main() -> int:
    print(mermaid(rooms(grimp.build_graph(ROOT))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
