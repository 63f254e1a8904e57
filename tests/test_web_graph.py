"""The dependency graph: a server-drawn SVG of who waits for whom."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from dependencies import graph
from dependencies.models import Dependency
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
GRAPH = reverse("board:graph")


@pytest.fixture
def squads(cycle, alice, bob, carol):
    """Three squads of their own, led by Alice, Bob and Carol: here Bob and Carol are DRIs."""
    return {
        key: f.squad(key, dri=dri, cycle=cycle, name=name)
        for key, name, dri in (
            ("onboarding", "Onboarding Squad", alice),
            ("product", "Product Squad", bob),
            ("marketing", "Marketing Squad", carol),
        )
    }


def need(key, a, b, *, blocking=True, days=30, status="requested", **extra):
    return Dependency.objects.create(
        key=key,
        from_squad=a,
        to_squad=b,
        what=key,
        due=TODAY + dt.timedelta(days=days),
        blocking=blocking,
        status=status,
        **extra,
    )


def picture(content: str) -> str:
    """The graph itself, without the legend's samples."""
    found = re.search(r'<svg xmlns="http://www.w3.org/2000/svg" width=.*?</svg>', content, re.S)
    return found.group(0) if found else ""


def nodes(content: str) -> list[str]:
    return re.findall(r'<g class="g-node[^"]*">', picture(content))


def edges(content: str) -> list[str]:
    return re.findall(r'<g class="g-edge[^"]*">', picture(content))


def test_the_graph_draws_squads_and_blocking_dependencies(client, squads, carol):
    need("a", squads["onboarding"], squads["product"])
    need("b", squads["onboarding"], squads["product"])
    need("c", squads["marketing"], squads["product"], blocking=False)
    client.force_login(carol)
    response = client.get(GRAPH)
    assert response.status_code == 200
    content = response.content.decode()
    # A labelled group, not an image: its boxes and arrows are links a keyboard reaches.
    assert 'role="group" aria-labelledby="graph-title"' in picture(content)
    # Two blocking dependencies between the same squads make one arrow, counted.
    assert len(nodes(content)) == 2
    assert len(edges(content)) == 1
    assert "×2" in content
    assert "Onboarding Squad" in content and "Product Squad" in content
    # The non-blocking one is not an arrow; Marketing has no blocking dependency.
    assert "Marketing Squad</text>" not in content
    assert "Legend" in content and "No loops" in content


def test_loops_are_found_and_highlighted(client, squads, carol):
    need("a", squads["onboarding"], squads["product"])
    need("b", squads["product"], squads["marketing"])
    need("c", squads["marketing"], squads["onboarding"])
    client.force_login(carol)
    content = client.get(GRAPH).content.decode()
    assert nodes(content).count('<g class="g-node g-node--squad g-node--loop">') == 3
    assert edges(content).count('<g class="g-edge g-edge--loop">') == 3
    loops = re.search(r'<ol class="loops">(.*?)</ol>', content, re.S).group(1)
    for name in ("Onboarding Squad", "Product Squad", "Marketing Squad"):
        assert name in loops
    assert "1 loop" in content


def test_done_dependencies_do_not_make_a_loop_unless_asked_for(client, squads, carol):
    need("a", squads["onboarding"], squads["product"])
    need("b", squads["product"], squads["onboarding"], status="done")
    client.force_login(carol)
    content = client.get(GRAPH).content.decode()
    assert "g-node--loop" not in picture(content)
    assert "No loops" in content
    content = client.get(GRAPH + "?status=").content.decode()
    assert "No loops" not in content


def test_overdue_arrows_stand_out(client, squads, carol):
    need("late", squads["onboarding"], squads["product"], days=-3)
    need("fine", squads["marketing"], squads["product"])
    client.force_login(carol)
    content = client.get(GRAPH).content.decode()
    assert edges(content).count('<g class="g-edge g-edge--overdue">') == 1
    assert "1 overdue" in content


def test_the_initiative_toggle_draws_initiatives(client, squads, carol):
    wizard = f.initiative(squads["onboarding"], "wizard", title="Onboarding wizard")
    tool = f.initiative(squads["product"], "tool", title="Assessment tool")
    Dependency.objects.create(
        key="t", from_initiative=wizard, to_initiative=tool, what="t", due=TODAY, blocking=True
    )
    Dependency.objects.create(
        key="u", from_initiative=wizard, to_function="People", what="u", due=TODAY, blocking=True
    )
    client.force_login(carol)
    content = client.get(GRAPH + "?nodes=initiatives").content.decode()
    assert "Onboarding wizard" in content and "Assessment tool" in content
    assert "g-node--function" in content and "People" in content
    assert len(edges(content)) == 2
    # In the squads view, the function is a node too.
    content = client.get(GRAPH).content.decode()
    assert len(nodes(content)) == 3


def test_a_squad_needing_from_itself_is_noted_not_drawn(client, squads, carol):
    a = f.initiative(squads["onboarding"], "a", title="A")
    b = f.initiative(squads["onboarding"], "b", title="B")
    Dependency.objects.create(
        key="inner", from_initiative=a, to_initiative=b, what="x", due=TODAY, blocking=True
    )
    client.force_login(carol)
    content = client.get(GRAPH).content.decode()
    assert "inside one squad is not drawn" in content
    assert len(edges(content)) == 0


def test_the_graph_filters_like_the_board(client, squads, carol):
    need("a", squads["onboarding"], squads["product"])
    need("b", squads["marketing"], squads["product"])
    client.force_login(carol)
    content = client.get(GRAPH + "?from=marketing").content.decode()
    assert len(edges(content)) == 1
    assert "Marketing Squad" in content and "Onboarding Squad</text>" not in content
    # The arrow links to the board filtered to it.
    assert "from=marketing&amp;to=product&amp;blocking=on" in content


def test_user_text_is_escaped_in_the_picture(client, squads, carol):
    squads["product"].name = "<script>alert(1)</script>"
    squads["product"].save()
    need("a", squads["onboarding"], squads["product"])
    client.force_login(carol)
    content = client.get(GRAPH).content.decode()
    assert "<script>alert" not in content
    assert "&lt;script&gt;" in content


def test_a_large_graph_is_capped_with_loops_kept(client, cycle, squads, carol, monkeypatch):
    monkeypatch.setattr(graph, "GRAPH_MAX_NODES", 4)
    need("l1", squads["onboarding"], squads["product"])
    need("l2", squads["product"], squads["onboarding"])
    for n in range(6):
        other = f.squad(f"extra-{n}", dri=f.person(f"p{n}"), cycle=cycle)
        need(f"e{n}", other, squads["marketing"])
    client.force_login(carol)
    content = client.get(GRAPH).content.decode()
    assert "shows 4 of 9 boxes" in content
    assert len(nodes(content)) == 4
    assert picture(content).count("g-node--loop") == 2


def test_a_big_loop_is_drawn_as_one_box_and_its_members_listed(client, cycle, carol):
    ring = [f.squad(f"ring-{n}", dri=f.person(f"r{n}"), cycle=cycle) for n in range(9)]
    for n, squad in enumerate(ring):
        need(f"r{n}", squad, ring[(n + 1) % len(ring)])
    outside = f.squad("outside", dri=f.person("o"), cycle=cycle)
    need("out", outside, ring[0])
    client.force_login(carol)
    content = client.get(GRAPH).content.decode()
    assert len(nodes(content)) == 2
    assert "Loop of 9 squads" in picture(content)
    assert "9 blocking within" in picture(content)
    assert len(edges(content)) == 1
    loops = re.search(r'<ol class="loops">(.*?)</ol>', content, re.S).group(1)
    assert "9 squads all wait on each other" in loops
    assert all(f"Ring {n}" in loops for n in range(9))


def test_the_layout_is_deterministic_and_puts_needers_left_of_providers():
    def build():
        made = {n: graph.Node(id=n, label=n.upper(), kind="squad") for n in ("a", "b", "c", "d")}
        links = {
            pair: graph.Edge(source=pair[0], target=pair[1], count=1)
            for pair in (("a", "b"), ("b", "c"), ("d", "c"), ("c", "b"))
        }
        size = graph.graph_layout(made, links)
        return made, links, size

    first, links, size = build()
    second, _, size2 = build()
    assert size == size2
    assert [(n.x, n.y) for n in first.values()] == [(n.x, n.y) for n in second.values()]
    assert first["a"].x < first["b"].x
    assert first["d"].x < first["c"].x
    # b and c wait for each other: one loop, drawn in one column.
    assert first["b"].in_loop and first["c"].in_loop and not first["a"].in_loop
    assert first["b"].x == first["c"].x
    assert links[("b", "c")].in_loop and not links[("a", "b")].in_loop
    assert all(e.path.startswith("M") for e in links.values())


def squad_node(n: str) -> graph.Node:
    return graph.Node(id=n, label=n.upper(), kind="squad", filter_key=n)


def test_rows_for_one_pair_become_one_edge_and_a_party_needing_itself_is_counted_apart():
    # needer, provider, function; how many, overdue, at risk (selectors.graph_rows)
    rows = [
        (1, 2, "", 2, 1, 0),
        # The same pair again (another stage, say): merged into the one arrow.
        (1, 2, "", 3, 0, 2),
        # A function provides it: the arrow goes to the function, whoever else is named.
        (1, None, "Legal", 1, 0, 0),
        (3, 3, "", 4, 4, 0),
    ]
    edges, internal = graph.edges_from_rows(rows, "squads")
    assert set(edges) == {("s:1", "s:2"), ("s:1", "f:Legal")}
    merged = edges[("s:1", "s:2")]
    assert (merged.count, merged.overdue, merged.at_risk) == (5, 1, 2)
    assert internal == 4
    ids, squad_ids, initiative_ids = graph.party_ids(edges)
    assert ids == {"s:1", "s:2", "f:Legal"}
    assert (squad_ids, initiative_ids) == ({1, 2}, set())


def test_between_initiatives_an_initiative_stands_for_itself_and_a_squad_for_the_rest():
    # from squad, from initiative, to squad, to initiative, function; the counts
    rows = [
        (None, 7, 2, None, "", 1, 0, 0),
        (1, None, None, 8, "", 1, 0, 1),
    ]
    edges, internal = graph.edges_from_rows(rows, "initiatives")
    assert set(edges) == {("i:7", "s:2"), ("s:1", "i:8")}
    assert internal == 0
    assert graph.party_ids(edges)[1:] == ({1, 2}, {7, 8})


def test_a_tangle_is_one_box_with_the_arrows_in_and_out_of_it_merged():
    made = {n: squad_node(n) for n in ("a", "b", "c", "x", "y")}
    links = {
        pair: graph.Edge(source=pair[0], target=pair[1], count=1, overdue=1)
        for pair in (("a", "b"), ("b", "c"), ("c", "a"), ("x", "a"), ("x", "b"), ("c", "y"))
    }
    kept, merged = graph.collapse(made, links, [["a", "b", "c"]], "squads")
    assert set(kept) == {"t:0", "x", "y"}
    assert kept["t:0"].label == "Loop of 3 squads"
    assert kept["t:0"].sub == "3 blocking within"
    assert set(merged) == {("x", "t:0"), ("t:0", "y")}
    assert (merged[("x", "t:0")].count, merged[("x", "t:0")].overdue) == (2, 2)


def test_capping_keeps_the_loops_then_the_most_connected_and_only_their_arrows():
    made = {n: squad_node(n) for n in ("a", "b", "c", "d", "e")}
    made["d"].in_loop = made["e"].in_loop = True
    links = {
        ("a", "b"): graph.Edge(source="a", target="b", count=5),
        ("c", "b"): graph.Edge(source="c", target="b", count=1),
        ("d", "e"): graph.Edge(source="d", target="e", count=1),
        ("e", "d"): graph.Edge(source="e", target="d", count=1),
    }
    kept, kept_links = graph.cap(made, links, 3)
    assert set(kept) == {"d", "e", "b"}
    assert set(kept_links) == {("d", "e"), ("e", "d")}
    assert graph.cap(made, links, 5) == (made, links)


def test_the_picture_lists_a_small_loop_and_says_what_each_arrow_means():
    made = {n: squad_node(n) for n in ("a", "b", "c")}
    links = {
        ("a", "b"): graph.Edge(source="a", target="b", count=2, overdue=1),
        ("b", "a"): graph.Edge(source="b", target="a", count=1),
        ("c", "a"): graph.Edge(source="c", target="a", count=1, at_risk=1),
    }
    drawn = graph.picture(made, links, internal=0, kind="squads")
    assert [[n.id for n in loop.nodes] for loop in drawn.loops] in ([["a", "b"]], [["b", "a"]])
    assert (drawn.loop_groups, drawn.total_nodes, drawn.dependencies, drawn.overdue) == (1, 3, 4, 1)
    assert not drawn.capped
    titles = {(e.source, e.target): e.title for e in drawn.edges}
    assert titles[("a", "b")] == "A needs 2 blocking dependencies from B; 1 overdue; part of a loop"
    assert titles[("c", "a")] == "C needs 1 blocking dependency from A; 1 at risk"
    # Loops are drawn last, over the rest.
    assert [e.in_loop for e in drawn.edges] == [False, True, True]
    assert all(0 < n.x < drawn.width and 0 < n.y < drawn.height for n in drawn.nodes)


@pytest.mark.parametrize("count", [2, 20])
def test_the_graph_costs_the_same_queries_for_2_or_20_squads(
    client, cycle, olga, count, django_assert_max_num_queries
):
    made = [f.squad(f"s{n}", dri=f.person(f"d{n}"), cycle=cycle) for n in range(count)]
    for n in range(count - 1):
        need(f"k{n}", made[n], made[n + 1], days=n - 1)
    client.force_login(olga)
    with django_assert_max_num_queries(11):
        response = client.get(GRAPH)
    assert len(nodes(response.content.decode())) == count
    with django_assert_max_num_queries(11):
        client.get(GRAPH + "?nodes=initiatives")


def test_the_graph_needs_a_signed_in_person_and_a_get(client, squads, carol):
    assert client.get(GRAPH).status_code == 302
    client.force_login(carol)
    assert client.post(GRAPH).status_code == 405
