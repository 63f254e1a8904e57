"""Loops in a directed graph: the review's dependency loops and the board's graph share them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def simple_cycles(graph: Mapping[str, Iterable[str]], *, limit: int) -> list[list[str]]:
    """Elementary cycles of a directed graph without self-loops (Johnson's algorithm).

    Work is spent only inside strongly connected components, so an acyclic graph costs one
    linear pass; `limit` bounds the output (a dense tangle can hold exponentially many loops).
    """
    found: list[list[str]] = []
    pending = [set(c) for c in strongly_connected(graph) if len(c) > 1]
    while pending and len(found) < limit:
        component = pending.pop()
        start = min(component)
        adjacency = {n: sorted(s for s in graph[n] if s in component) for n in component}
        path = [start]
        blocked = {start}
        closed: set[str] = set()
        waiting: dict[str, set[str]] = defaultdict(set)
        work = [(start, iter(adjacency[start]))]
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ == start:
                    found.append(list(path))
                    if len(found) >= limit:
                        return found
                    closed.update(path)
                elif succ not in blocked:
                    path.append(succ)
                    work.append((succ, iter(adjacency[succ])))
                    closed.discard(succ)
                    blocked.add(succ)
                    break
            else:
                if node in closed:
                    _unblock(node, blocked, waiting)
                else:
                    for succ in adjacency[node]:
                        waiting[succ].add(node)
                work.pop()
                path.pop()
        rest = {n: [s for s in adjacency[n] if s != start] for n in component if n != start}
        pending.extend(set(c) for c in strongly_connected(rest) if len(c) > 1)
    return found


def _unblock(node: str, blocked: set[str], waiting: dict[str, set[str]]) -> None:
    todo = {node}
    while todo:
        current = todo.pop()
        if current in blocked:
            blocked.discard(current)
            todo.update(waiting[current])
            waiting[current].clear()
