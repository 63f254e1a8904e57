"""The dependency graph: blocking dependencies between squads (or initiatives), laid out and
routed on the server as plain geometry for an SVG.

build_graph reads its rows through dependencies.selectors; everything after that is pure
functions of nodes and edges (merging, finding loops, collapsing tangles, capping, layout,
routing), so each can be tried with plain objects.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.graphs import simple_cycles, strongly_connected
from dependencies import selectors
from dependencies.forms import FUNCTION_PREFIX
from dependencies.models import BoardFilters
from dependencies.presenters import address, board_url

if TYPE_CHECKING:
    from squads.models import Initiative, Squad

GRAPH_MAX_NODES = 80
GRAPH_MAX_LOOPS_LISTED = 12
# A loop of this many or more is drawn as one box ("tangle"), its members listed beside.
TANGLE_MIN = 7
TANGLE_NAMES = 12
NODE_W, NODE_H = 190, 46
GAP_X, GAP_Y = 80, 20
MARGIN = 24
LOOP_BULGE = 70
LABEL_CHARS = 21
# Wider pictures than this scroll sideways at full size instead of shrinking to fit.
GRAPH_FIT_WIDTH = 1650


@dataclass
class Node:
    id: str
    label: str
    kind: str  # squad, initiative, function
    sub: str = ""
    url: str = ""
    filter_key: str = ""  # the board's `to`/`from` value for this node's squad or function
    in_loop: bool = False
    column: int = 0
    row: int = 0
    x: float = 0
    y: float = 0
    degree: int = 0

    @property
    def short(self) -> str:
        return shorten(self.label, LABEL_CHARS)

    @property
    def short_sub(self) -> str:
        return shorten(self.sub, LABEL_CHARS + 6)

    @property
    def text_x(self) -> float:
        return self.x + 12

    @property
    def text_y(self) -> float:
        return self.y + (19 if self.sub else 28)

    @property
    def sub_y(self) -> float:
        return self.y + 36


@dataclass
class Edge:
    source: str
    target: str
    count: int = 0
    overdue: int = 0
    at_risk: int = 0
    in_loop: bool = False
    path: str = ""
    label_x: float = 0
    label_y: float = 0
    url: str = ""
    title: str = ""


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class Loop:
    """An elementary loop (its nodes in order) or, for a big tangle, some of its members."""

    nodes: list[Node]
    tangle: bool = False
    more: int = 0


@dataclass
class GraphPicture:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int
    loops: list[Loop]
    loop_groups: int
    loops_cut: bool
    total_nodes: int
    boxes: int
    total_edges: int
    dependencies: int
    overdue: int
    internal: int
    capped: bool


def edges_from_rows(rows: list[tuple], kind: str) -> tuple[dict[tuple[str, str], Edge], int]:
    """Merged edges from the counted rows (see selectors.graph_rows), and how many
    dependencies a party has on itself: those are not drawn."""
    edges: dict[tuple[str, str], Edge] = {}
    internal = 0
    if kind == "squads":
        pairs = (
            (f"s:{needer}", f"f:{function}" if function else f"s:{provider}", counts)
            for needer, provider, function, *counts in rows
        )
    else:
        pairs = (
            (
                f"i:{from_initiative}" if from_initiative else f"s:{from_squad}",
                f"f:{function}"
                if function
                else f"i:{to_initiative}"
                if to_initiative
                else f"s:{to_squad}",
                counts,
            )
            for from_squad, from_initiative, to_squad, to_initiative, function, *counts in rows
        )
    for source, target, (n, overdue, at_risk) in pairs:
        if source == target:
            internal += n
            continue
        edge = edges.get((source, target))
        if edge is None:
            edges[source, target] = Edge(source, target, n, overdue, at_risk)
        else:
            edge.count += n
            edge.overdue += overdue
            edge.at_risk += at_risk
    return edges, internal


def party_ids(edges: dict[tuple[str, str], Edge]) -> tuple[set[str], set[int], set[int]]:
    """Every node an edge touches, and the squad and initiative ids among them."""
    ids = {n for pair in edges for n in pair}
    squad_ids = {int(n[2:]) for n in ids if n.startswith("s:")}
    initiative_ids = {int(n[2:]) for n in ids if n.startswith("i:")}
    return ids, squad_ids, initiative_ids


def make_nodes(
    ids: set[str], kind: str, squads: dict[int, Squad], initiatives: dict[int, Initiative]
) -> dict[str, Node]:
    """A labelled, linked node for each id: "s:<squad id>", "i:<initiative id>" or
    "f:<function>"."""
    nodes: dict[str, Node] = {}
    plan = address("squads:plan")
    for node_id in ids:
        prefix, value = node_id.split(":", 1)
        if prefix == "s":
            squad = squads[int(value)]
            nodes[node_id] = Node(
                id=node_id,
                label=squad.name,
                kind="squad",
                sub="the whole squad" if kind == "initiatives" else "",
                url=plan(squad.key),
                filter_key=squad.key,
            )
        elif prefix == "i":
            initiative = initiatives[int(value)]
            nodes[node_id] = Node(
                id=node_id,
                label=initiative.title,
                kind="initiative",
                sub=initiative.squad.name,
                url=f"{plan(initiative.squad.key)}#initiative-{initiative.key}",
                filter_key=initiative.squad.key,
            )
        else:
            nodes[node_id] = Node(
                id=node_id,
                label=value,
                kind="function",
                sub="function",
                url=board_url(to=f"{FUNCTION_PREFIX}{value}"),
                filter_key=f"{FUNCTION_PREFIX}{value}",
            )
    return nodes


def graph_layout(nodes: dict[str, Node], edges: dict[tuple[str, str], Edge]) -> tuple[int, int]:
    """Lay the nodes out in columns, deterministically: whoever needs on the left, whoever
    provides on the right. A loop's members share a column; the order inside each column is
    refined by a few barycentre sweeps to cut crossings. Returns the picture's size."""
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    graph = {n: sorted(succ.get(n, [])) for n in nodes}
    components = strongly_connected(graph)
    comp_of = {n: i for i, comp in enumerate(components) for n in comp}
    for comp in components:
        if len(comp) > 1:
            for n in comp:
                nodes[n].in_loop = True
    for edge in edges.values():
        edge.in_loop = comp_of[edge.source] == comp_of[edge.target]

    # Longest path from the pure needers, over the graph of components (a DAG).
    preds: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        if comp_of[a] != comp_of[b]:
            preds[comp_of[b]].add(comp_of[a])
    # Tarjan emits components in reverse topological order (providers first).
    depth: dict[int, int] = {}
    for c in reversed(range(len(components))):
        depth[c] = 1 + max((depth[p] for p in preds[c]), default=-1)
    columns: dict[int, list[str]] = defaultdict(list)
    for n in nodes:
        nodes[n].column = depth[comp_of[n]]
        columns[nodes[n].column].append(n)
    for col in columns.values():
        col.sort(key=lambda n: (comp_of[n], nodes[n].label.casefold(), n))

    in_edges: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        in_edges[b].append(a)

    def place() -> dict[str, int]:
        return {n: i for col in columns.values() for i, n in enumerate(col)}

    order = sorted(columns)
    for sweep in range(4):
        pos = place()
        forward = sweep % 2 == 0
        for c in order if forward else reversed(order):
            neighbours = in_edges if forward else succ

            def centre(n: str, neighbours=neighbours, pos=pos) -> float:
                near = [pos[m] for m in neighbours.get(n, []) if nodes[m].column != nodes[n].column]
                return sum(near) / len(near) if near else pos[n]

            columns[c].sort(key=lambda n: (centre(n), nodes[n].label.casefold(), n))
            pos = place()

    tallest = max((len(col) for col in columns.values()), default=0)
    pitch = NODE_H + GAP_Y
    for c, col in columns.items():
        top = MARGIN + (tallest - len(col)) * pitch / 2
        for i, n in enumerate(col):
            node = nodes[n]
            node.row = i
            node.x = MARGIN + c * (NODE_W + GAP_X)
            node.y = top + i * pitch
    width = MARGIN * 2 + (max(columns, default=0) + 1) * NODE_W + max(columns, default=0) * GAP_X
    has_side_loops = any(nodes[a].column == nodes[b].column for a, b in edges)
    if has_side_loops:
        width += LOOP_BULGE + 20
    height = MARGIN * 2 + tallest * pitch - GAP_Y
    for edge in edges.values():
        route(edge, nodes[edge.source], nodes[edge.target])
    return int(width), int(max(height, NODE_H + 2 * MARGIN))


def route(edge: Edge, a: Node, b: Node) -> None:
    """A cubic curve from the needer's right side to the provider's left side; between two
    nodes of one column, an arc out to the right and back."""
    ay, by = a.y + NODE_H / 2, b.y + NODE_H / 2
    if a.column == b.column:
        x0, x1 = a.x + NODE_W, b.x + NODE_W
        bulge = LOOP_BULGE if b.y > a.y else LOOP_BULGE * 0.55
        c0 = (x0 + bulge, ay)
        c1 = (x1 + bulge, by)
        start, end = (x0, ay - 6), (x1 + 2, by + 6)
    else:
        start, end = (a.x + NODE_W, ay), (b.x - 2, by)
        dx = max((end[0] - start[0]) * 0.45, 40)
        c0 = (start[0] + dx, start[1])
        c1 = (end[0] - dx, end[1])
    edge.path = (
        f"M{start[0]:.1f},{start[1]:.1f} C{c0[0]:.1f},{c0[1]:.1f} "
        f"{c1[0]:.1f},{c1[1]:.1f} {end[0]:.1f},{end[1]:.1f}"
    )
    edge.label_x = (start[0] + 3 * c0[0] + 3 * c1[0] + end[0]) / 8
    edge.label_y = (start[1] + 3 * c0[1] + 3 * c1[1] + end[1]) / 8 - 4


def cap(
    nodes: dict[str, Node], edges: dict[tuple[str, str], Edge], limit: int
) -> tuple[dict[str, Node], dict[tuple[str, str], Edge]]:
    """Keep at most `limit` nodes: those in loops first, then the most connected."""
    if len(nodes) <= limit:
        return nodes, edges
    for (a, b), edge in edges.items():
        nodes[a].degree += edge.count
        nodes[b].degree += edge.count
    keep = sorted(nodes.values(), key=lambda n: (not n.in_loop, -n.degree, n.label, n.id))[:limit]
    kept = {n.id: n for n in keep}
    return kept, {k: e for k, e in edges.items() if k[0] in kept and k[1] in kept}


def collapse(
    nodes: dict[str, Node],
    edges: dict[tuple[str, str], Edge],
    tangles: list[list[str]],
    kind: str,
) -> tuple[dict[str, Node], dict[tuple[str, str], Edge]]:
    """Draw each big tangle of mutual waiting as one box: its members would otherwise fill
    the picture with red and say nothing more than "these all wait on each other"."""
    if not tangles:
        return nodes, edges
    noun = "squads" if kind == "squads" else "parties"
    where: dict[str, str] = {}
    for i, members in enumerate(tangles):
        box = f"t:{i}"
        nodes[box] = Node(
            id=box,
            label=f"Loop of {len(members)} {noun}",
            kind="tangle",
            sub="",
            in_loop=True,
        )
        for n in members:
            where[n] = box
    merged: dict[tuple[str, str], Edge] = {}
    inside: dict[str, int] = defaultdict(int)
    for (a, b), edge in edges.items():
        a, b = where.get(a, a), where.get(b, b)
        if a == b:
            inside[a] += edge.count
            continue
        into = merged.setdefault((a, b), Edge(source=a, target=b))
        into.count += edge.count
        into.overdue += edge.overdue
        into.at_risk += edge.at_risk
    for box, count in inside.items():
        nodes[box].sub = f"{count} blocking within"
    return {k: v for k, v in nodes.items() if k not in where}, merged


def build_graph(filters: BoardFilters, kind: str, today: dt.date) -> GraphPicture:
    rows = selectors.graph_rows(filters, kind, today)
    edges, internal = edges_from_rows(rows, kind)
    ids, squad_ids, initiative_ids = party_ids(edges)
    squads, initiatives = selectors.graph_parties(squad_ids, initiative_ids)
    nodes = make_nodes(ids, kind, squads, initiatives)
    return picture(nodes, edges, internal, kind)


def picture(
    nodes: dict[str, Node], edges: dict[tuple[str, str], Edge], internal: int, kind: str
) -> GraphPicture:
    """The picture of a graph: its loops found, big tangles collapsed, capped, laid out."""
    total_nodes, total_edges = len(nodes), len(edges)
    dependencies = sum(e.count for e in edges.values())
    overdue = sum(e.overdue for e in edges.values())

    # Loops are judged on the whole graph, before collapsing or capping anything.
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    whole = {n: sorted(succ.get(n, [])) for n in nodes}
    knots = [c for c in strongly_connected(whole) if len(c) > 1]
    for comp in knots:
        for n in comp:
            nodes[n].in_loop = True
    tangles = [sorted(c, key=lambda n: nodes[n].label.casefold()) for c in knots]
    tangles = [c for c in tangles if len(c) >= TANGLE_MIN]
    small = {n for c in knots if len(c) < TANGLE_MIN for n in c}
    cycles = simple_cycles(
        {n: [m for m in whole[n] if m in small] for n in small}, limit=GRAPH_MAX_LOOPS_LISTED
    )
    loops = [Loop(nodes=[nodes[n] for n in cycle]) for cycle in cycles]
    loops += [
        Loop(
            nodes=[nodes[n] for n in c[:TANGLE_NAMES]],
            tangle=True,
            more=max(len(c) - TANGLE_NAMES, 0),
        )
        for c in tangles
    ]
    nodes, edges = collapse(nodes, edges, tangles, kind)

    shown_nodes, shown_edges = cap(nodes, edges, GRAPH_MAX_NODES)
    width, height = graph_layout(shown_nodes, shown_edges)
    for edge in shown_edges.values():
        a, b = shown_nodes[edge.source], shown_nodes[edge.target]
        edge.url = board_url(
            **{"from": a.filter_key if a.kind != "function" else ""},
            to=b.filter_key,
            blocking="on",
        )
        noun = "dependency" if edge.count == 1 else "dependencies"
        parts = [f"{a.label} needs {edge.count} blocking {noun} from {b.label}"]
        if edge.overdue:
            parts.append(f"{edge.overdue} overdue")
        if edge.at_risk:
            parts.append(f"{edge.at_risk} at risk")
        if edge.in_loop:
            parts.append("part of a loop")
        edge.title = "; ".join(parts)
    ordered_nodes = sorted(shown_nodes.values(), key=lambda n: (n.column, n.row))
    ordered_edges = sorted(
        shown_edges.values(), key=lambda e: (e.in_loop, e.overdue > 0, e.source, e.target)
    )
    return GraphPicture(
        nodes=ordered_nodes,
        edges=ordered_edges,
        width=width,
        height=height,
        loops=loops,
        loop_groups=len(knots),
        loops_cut=len(cycles) >= GRAPH_MAX_LOOPS_LISTED,
        total_nodes=total_nodes,
        boxes=len(nodes),
        total_edges=total_edges,
        dependencies=dependencies,
        overdue=overdue,
        internal=internal,
        capped=len(shown_nodes) < len(nodes),
    )
