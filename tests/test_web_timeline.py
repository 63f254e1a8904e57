"""The timeline: every squad's initiatives of a cycle on a time axis, drawn on the server."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import pagecache
from dependencies.models import Dependency
from journeys.models import Journey, Segment, Stage
from planning.timeline import chart, presenters, selectors
from squads.models import Initiative, Membership, Plan, Squad
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
TIMELINE = reverse("timeline")


# --- reading the picture --------------------------------------------------------------------


def svg(content: str) -> str:
    """The timeline's picture, without the legend's samples."""
    found = re.search(
        r'<svg xmlns="http://www.w3.org/2000/svg" class="timeline-svg".*?</svg>', content, re.S
    )
    return found.group(0) if found else ""


def bars(content: str) -> dict[str, str]:
    """Each initiative's bar: where it links, and its accessible name."""
    return dict(
        re.findall(
            r'<g class="tl-item">(?:<rect class="tl-ghost".*?</rect>)?'
            r'<a href="([^"]+)"><title>([^<]*)</title>',
            svg(content),
        )
    )


def bar_classes(content: str) -> dict[str, str]:
    """Each initiative's bar, by the title shown beside it: its classes."""
    return dict(
        re.findall(r'<text x="22" y="[\d.]+">([^<]*)</text><rect class="([^"]+)"', svg(content))
    )


def bar_box(content: str, title: str) -> tuple[float, float]:
    """The left and right edge of the bar of the initiative titled `title`."""
    found = re.search(
        rf'<text x="22" y="[\d.]+">{re.escape(title)}</text>'
        r'<rect class="[^"]+" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"',
        svg(content),
    )
    assert found, f"no bar for {title}"
    return float(found[1]), float(found[1]) + float(found[2])


def groups(content: str) -> list[str]:
    return re.findall(r'<text class="tl-group__name" x="8" y="[\d.]+">([^<]*)</text>', svg(content))


def arrows(content: str) -> list[tuple[str, str]]:
    """Each arrow's link and accessible name."""
    return re.findall(
        r'<a class="tl-arrow[^"]*" href="([^"]+)"><title>([^<]*)</title>', svg(content)
    )


def markers(content: str) -> list[str]:
    return re.findall(r'<title>(Needs [^<]*)</title><polygon class="tl-due', svg(content))


def width(content: str) -> int:
    return int(re.search(r'class="timeline-svg" width="(\d+)"', content)[1])


def get(client: Client, query: str = "") -> str:
    response = client.get(TIMELINE + query)
    assert response.status_code == 200
    return response.content.decode()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def need(key, *, needer, provider, blocking=True, status="requested", due=dt.date(2027, 3, 31)):
    side = {"from_initiative": needer} if isinstance(needer, Initiative) else {"from_squad": needer}
    if isinstance(provider, Initiative):
        side["to_initiative"] = provider
    elif isinstance(provider, Squad):
        side["to_squad"] = provider
    else:
        side["to_function"] = provider
    return Dependency.objects.create(
        key=key, what=f"What {key} needs", due=due, blocking=blocking, status=status, **side
    )


# --- the page ---------------------------------------------------------------------------------


def test_every_squads_initiatives_are_bars_that_link_to_their_plan(
    client, wizard, assessment, carol
):
    client.force_login(carol)
    content = get(client)
    assert 'role="group" aria-labelledby="timeline-title"' in svg(content)
    assert bars(content) == {
        "/squads/first-90-days/plan/#initiative-wizard": "In-app onboarding wizard "
        "(First 90 Days): 4 Jan – 31 Mar 2027, planned",
        "/squads/product-led/plan/#initiative-assessment": "Assessment tool "
        "(Product-led Growth): 4 Jan – 31 Mar 2027, planned",
    }
    assert groups(content) == ["First 90 Days", "Product-led Growth"]
    # The navigation names the page, and the same rows are in a table for screen readers.
    assert re.search(r'<a href="/timeline/" aria-current="page">Timeline</a>', content)
    table = content[content.index('<table class="table timeline-rows">') :]
    assert '<a href="/squads/product-led/plan/#initiative-assessment">Assessment tool</a>' in table


def test_everyone_signed_in_reads_it_and_only_with_get(
    client, wizard, alice, bob, carol, dora, olga, leo
):
    for person in (alice, bob, carol, dora, olga, leo):
        client.force_login(person)
        assert "In-app onboarding wizard" in get(client), person.username
    assert client.head(TIMELINE).status_code == 200
    assert client.post(TIMELINE).status_code == 405
    client.logout()
    response = client.get(TIMELINE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_without_a_cycle_the_page_says_so(client, carol):
    client.force_login(carol)
    assert "There is no planning cycle yet." in get(client)


def test_status_is_shown_by_the_bars_class(client, needing, providing, carol):
    for key, status in [
        ("idea", "proposed"),
        ("doing", "in_progress"),
        ("shipped", "done"),
        ("gone", "dropped"),
    ]:
        f.initiative(needing, key, title=key.title(), status=status)
    f.initiative(
        needing,
        "overdue",
        title="Overdue",
        ends=TODAY - dt.timedelta(days=1),
        starts=TODAY - dt.timedelta(days=60),
    )
    f.initiative(
        needing,
        "finished",
        title="Finished",
        status="done",
        ends=TODAY - dt.timedelta(days=1),
        starts=TODAY - dt.timedelta(days=60),
    )
    waiting = f.initiative(needing, "waiting", title="Waiting")
    need("shaky", needer=waiting, provider=providing, status="at_risk")
    client.force_login(carol)
    content = get(client)
    classes = bar_classes(content)
    assert classes["Idea"] == "tl-bar tl-bar--proposed"
    assert classes["Doing"] == "tl-bar tl-bar--in-progress"
    assert classes["Shipped"] == "tl-bar tl-bar--done"
    assert classes["Gone"] == "tl-bar tl-bar--dropped"
    assert classes["Overdue"] == "tl-bar tl-bar--planned tl-bar--late"
    assert classes["Finished"] == "tl-bar tl-bar--done"  # done on time or late, it is done
    assert classes["Waiting"] == "tl-bar tl-bar--planned tl-bar--at-risk"
    # Their accessible names say it too.
    names = bars(content)
    assert names["/squads/first-90-days/plan/#initiative-overdue"].endswith(
        "planned, past its end date"
    )
    assert (
        "at risk; waits on What shaky needs from Product-led Growth"
        in (names["/squads/first-90-days/plan/#initiative-waiting"])
    )


def test_grouped_by_squad_or_by_journey_stage(client, wizard, assessment, needing, carol):
    adoption = f.stage("lifecycle", "adoption", name="Adoption", position=2)
    f.initiative(needing, "dashboard", title="Activation dashboard", stage=adoption)
    client.force_login(carol)
    by_squad = get(client)
    assert groups(by_squad) == ["First 90 Days", "Product-led Growth"]
    by_stage = get(client, "?group=stage")
    assert groups(by_stage) == ["lifecycle: Onboarding", "lifecycle: Adoption", "No journey stage"]
    # Each initiative is under its stage: the wizard first, the dashboard next, the tool last.
    order = list(bars(by_stage))
    assert order == [
        "/squads/first-90-days/plan/#initiative-wizard",
        "/squads/first-90-days/plan/#initiative-dashboard",
        "/squads/product-led/plan/#initiative-assessment",
    ]
    # A grouping the page does not know is the default.
    assert groups(get(client, "?group=colour")) == groups(by_squad)


def test_the_month_zoom_spreads_the_same_axis_over_more_room(client, wizard, carol):
    client.force_login(carol)
    by_quarter = get(client)
    by_month = get(client, "?zoom=month")
    assert ">Q1 2027</text>" in by_quarter and ">Feb</text>" not in by_quarter
    assert ">Jan 2027</text>" in by_month and ">Feb</text>" in by_month
    left, right = bar_box(by_quarter, "In-app onboarding wizard")
    month_left, month_right = bar_box(by_month, "In-app onboarding wizard")
    assert month_right - month_left > 3 * (right - left)
    assert width(by_month) > 3 * (width(by_quarter) - chart.LABEL_W)
    # The zoom and grouping links keep the filters.
    filtered = get(client, "?squad=first-90-days")
    assert 'href="?squad=first-90-days&amp;zoom=month"' in filtered


def test_filters_by_squad_stage_function_and_segment(client, wizard, assessment, needing, carol):
    segment = Segment.objects.create(key="mid-market", name="Mid-market")
    f.initiative(
        needing, "campaign", title="Enrollment campaign", function="Marketing", segment=segment
    )
    client.force_login(carol)

    def titles(query):
        return sorted(t.split(" (")[0] for t in bars(get(client, query)).values())

    assert titles("") == ["Assessment tool", "Enrollment campaign", "In-app onboarding wizard"]
    assert titles("?squad=product-led") == ["Assessment tool"]
    assert titles("?stage=lifecycle/onboarding") == ["In-app onboarding wizard"]
    assert titles("?stage=none") == ["Assessment tool", "Enrollment campaign"]
    assert titles("?function=Marketing") == ["Enrollment campaign"]
    assert titles("?segment=mid-market") == ["Enrollment campaign"]
    assert titles("?squad=first-90-days&function=Product") == ["In-app onboarding wizard"]
    # A filter that makes no sense says so and is left out; the others still apply.
    content = get(client, "?squad=nobody&function=Marketing")
    assert "Select a valid choice" in content
    assert titles("?squad=nobody&function=Marketing") == ["Enrollment campaign"]
    assert "No initiative matches these filters." in get(
        client, "?squad=product-led&function=Marketing"
    )
    # Clearing the filters keeps the grouping and the zoom.
    content = get(client, "?group=stage&zoom=month&function=Marketing")
    assert '<a class="btn" href="/timeline/?group=stage&amp;zoom=month">Clear</a>' in content


def test_blocking_dependencies_are_arrows_and_due_dates_are_markers(
    client, needing, providing, carol
):
    tool = f.initiative(providing, "tool", title="Assessment tool", ends=dt.date(2027, 3, 31))
    wizard = f.initiative(needing, "wizard", title="Onboarding wizard", starts=dt.date(2027, 3, 1))
    campaign = f.initiative(needing, "campaign", title="Campaign")
    need("tool-first", needer=wizard, provider=tool, due=dt.date(2027, 3, 31))
    need("feedback", needer=campaign, provider=tool, blocking=False, due=dt.date(2027, 2, 1))
    need("long-done", needer=campaign, provider=tool, status="done")
    need("said-no", needer=campaign, provider=tool, status="declined")
    client.force_login(carol)
    content = get(client)
    assert arrows(content) == [
        (
            "/board/?dep=tool-first",
            "Onboarding wizard waits on What tool-first needs from Product-led Growth, "
            "due 31 Mar 2027; requested; blocking",
        )
    ]
    # Both open dependencies have a marker on the needing row; done and declined have none.
    assert len(markers(content)) == 2
    assert any("due 1 Feb 2027" in m and "blocking" not in m for m in markers(content))
    # The arrow leaves the end of the tool's bar and reaches the wizard's due date.
    path = re.search(
        r'href="/board/\?dep=tool-first"><title>[^<]*</title><path d="M([\d.]+),', content
    )
    assert float(path[1]) == bar_box(content, "Assessment tool")[1]


def test_a_provider_that_ends_after_the_due_date_makes_a_late_arrow(
    client, needing, providing, carol
):
    tool = f.initiative(providing, "tool", title="Assessment tool", ends=dt.date(2027, 5, 31))
    wizard = f.initiative(needing, "wizard", title="Onboarding wizard")
    need("tool-first", needer=wizard, provider=tool, due=dt.date(2027, 3, 31))
    client.force_login(carol)
    content = get(client)
    assert re.search(r'<a class="tl-arrow tl-arrow--late" href="/board/\?dep=tool-first">', content)
    assert "its provider ends 31 May 2027" in arrows(content)[0][1]
    assert bar_classes(content)["Onboarding wizard"] == "tl-bar tl-bar--planned tl-bar--at-risk"


def test_a_whole_squad_providing_draws_its_arrow_from_the_squads_row(
    client, dep, assessment, carol
):
    client.force_login(carol)
    by_squad = get(client)
    assert [url for url, _ in arrows(by_squad)] == ["/board/?dep=messaging"]
    # Grouped by stage there is no row for the squad: the due date stays, the arrow goes.
    by_stage = get(client, "?group=stage")
    assert arrows(by_stage) == []
    assert len(markers(by_stage)) == 1


def test_the_today_line_is_between_work_that_ended_and_work_to_come(client, needing, carol):
    f.initiative(
        needing,
        "ended",
        title="Ended",
        starts=TODAY - dt.timedelta(days=40),
        ends=TODAY - dt.timedelta(days=2),
    )
    f.initiative(
        needing,
        "coming",
        title="Coming",
        starts=TODAY + dt.timedelta(days=2),
        ends=TODAY + dt.timedelta(days=40),
    )
    client.force_login(carol)
    for query in ("", "?zoom=month"):
        content = get(client, query)
        today_x = float(re.search(r'<g class="tl-today"><line x1="([\d.]+)"', content)[1])
        assert bar_box(content, "Ended")[1] < today_x < bar_box(content, "Coming")[0], query


def test_a_cycle_that_has_not_started_says_today_is_off_the_axis(client, wizard, carol):
    client.force_login(carol)
    content = get(client)
    assert 'class="tl-today"' not in content
    assert "is outside this axis" in content


# --- ghost bars: the committed baseline -------------------------------------------------------


def _item(key: str, starts: dt.date, ends: dt.date) -> chart.Item:
    return chart.Item(
        id=hash(key) % 10_000,
        ref=f"squad/{key}",
        title=key.title(),
        squad="Squad",
        url=f"/squads/squad/plan/#initiative-{key}",
        function="Product",
        stage="",
        segment="",
        starts=starts,
        ends=ends,
        status="planned",
    )


def test_ghost_bars_show_the_committed_dates_where_they_moved():
    moved = _item("moved", dt.date(2027, 4, 1), dt.date(2027, 6, 30))
    kept = _item("kept", dt.date(2027, 1, 4), dt.date(2027, 3, 31))
    group = chart.Group(
        key="squad",
        label="Squad",
        url="",
        count=2,
        first=kept.starts,
        last=moved.ends,
        expanded=True,
        squad="squad",
        items=(moved, kept),
    )
    baseline = {
        "squad/moved": (dt.date(2027, 1, 4), dt.date(2027, 3, 31)),
        "squad/kept": (dt.date(2027, 1, 4), dt.date(2027, 3, 31)),
    }
    picture = chart.draw(
        [group],
        [],
        zoom="quarter",
        today=dt.date(2027, 2, 1),
        cycle_starts=dt.date(2027, 1, 1),
        cycle_ends=dt.date(2027, 12, 31),
        baseline=baseline,
    )
    drawn = render_to_string("planning/timeline.html#chart", {"chart": picture})
    ghosts = re.findall(
        r'<rect class="tl-ghost" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*>'
        r"<title>([^<]*)</title>",
        drawn,
    )
    assert len(ghosts) == 1
    x, w, title = ghosts[0]
    assert title == "Moved, as committed: 4 Jan – 31 Mar 2027"
    # Behind the moved bar, where the kept one is now: the dates it was committed with.
    ghost = (float(x), float(x) + float(w))
    assert ghost == bar_box(drawn, "Kept")
    assert ghost[1] <= bar_box(drawn, "Moved")[0]
    assert "committed 4 Jan – 31 Mar 2027" in bars(drawn)["/squads/squad/plan/#initiative-moved"]
    table = render_to_string("planning/timeline.html#table", {"chart": picture, "group": "squad"})
    assert table.count("committed:") == 1
    # Without a baseline, no ghost at all.
    plain = chart.draw(
        [group],
        [],
        zoom="quarter",
        today=dt.date(2027, 2, 1),
        cycle_starts=dt.date(2027, 1, 1),
        cycle_ends=dt.date(2027, 12, 31),
    )
    assert "tl-ghost" not in render_to_string("planning/timeline.html#chart", {"chart": plain})


def test_the_axis_is_bounded_whatever_dates_people_type():
    forever = _item("forever", dt.date(2001, 1, 1), dt.date(2099, 12, 31))
    group = chart.Group(
        key="squad",
        label="Squad",
        url="",
        count=1,
        first=forever.starts,
        last=forever.ends,
        expanded=True,
        items=(forever,),
    )
    for zoom in ("quarter", "month"):
        picture = chart.draw(
            [group],
            [],
            zoom=zoom,
            today=dt.date(2027, 2, 1),
            cycle_starts=dt.date(2027, 1, 1),
            cycle_ends=dt.date(2027, 12, 31),
            first=forever.starts,
            last=forever.ends,
        )
        # The cycle stays in view, with at most a quarter before it; whole quarters or months
        # at each end add at most a quarter each.
        assert dt.date(2026, 9, 1) <= picture.starts <= dt.date(2027, 1, 1) < picture.ends
        most = chart.MAX_DAYS + 2 * 92
        assert (picture.ends - picture.starts).days <= most
        assert picture.width <= chart.LABEL_W + most * chart.DAY_WIDTH[zoom] + chart.RIGHT_PAD
        drawn = render_to_string("planning/timeline.html#chart", {"chart": picture})
        name = bars(drawn)["/squads/squad/plan/#initiative-forever"]
        assert name.endswith("it runs beyond the edge of this axis"), zoom


def test_the_page_draws_the_baseline_it_reads(client, wizard, carol, monkeypatch):
    monkeypatch.setattr(
        presenters,
        "baseline_dates",
        lambda cycle: {"first-90-days/wizard": (dt.date(2027, 2, 1), dt.date(2027, 2, 28))},
    )
    client.force_login(carol)
    assert "In-app onboarding wizard, as committed: 1 Feb – 28 Feb 2027" in get(client)


# --- what no one may slip in, and what some may not read -----------------------------------


def test_hostile_text_is_escaped_in_the_picture(client, cycle, alice, carol):
    hostile = '</title></text><script>alert("t")</script><text x="0">&amp;'
    squad = f.squad("hostile", dri=alice, cycle=cycle, name=f"Squad {hostile}")
    made = f.initiative(squad, "x", title=f"Title {hostile}", function=f"Fn {hostile}")
    need("h", needer=made, provider=f"People {hostile}")
    client.force_login(carol)
    content = get(client)
    picture = svg(content)
    assert "<script>" not in content
    assert hostile not in content
    assert "&lt;/title&gt;&lt;/text&gt;&lt;script&gt;" in picture
    assert len(re.findall(r"<title[ >]", picture)) == picture.count("</title>")
    assert "&amp;amp;" in picture


def test_drafts_a_cycle_keeps_back_are_not_shown_to_others(
    client, cycle, wizard, assessment, needing, carol, pete, leo, olga
):
    cycle.restrict_drafts = True
    cycle.save()
    Plan.objects.create(squad=needing, approved_at=timezone.now())
    f.initiative(assessment.squad, "secret", title="Secret pricing page", function="Pricing")
    need("tool-first", needer=wizard, provider=assessment, due=dt.date(2027, 2, 1))
    assessment.ends = dt.date(2027, 6, 30)
    assessment.save()

    # Those who may read every draft, first: their page is cached and must not be served on.
    for person in (leo, olga, pete):
        content = get(signed_in(person))
        assert "Assessment tool" in content and "Secret pricing page" in content, person
        assert "its provider ends 30 Jun 2027" in content

    content = get(signed_in(carol))
    assert "In-app onboarding wizard" in content
    for secret in ("Assessment tool", "Secret pricing page", "Pricing", "30 Jun 2027"):
        assert secret not in content, secret
    assert "Product-led Growth" in content  # the squad itself is public, and says why
    assert "a draft plan kept to its squad" in content
    assert arrows(content) == []  # the arrow would start at a draft's bar
    assert len(markers(content)) == 1
    assert "Assessment tool" not in get(signed_in(carol), "?squad=product-led&group=stage")

    Plan.objects.create(squad=assessment.squad, approved_at=timezone.now())
    assert "Assessment tool" in get(signed_in(carol))


# --- at the size of a large organisation ---------------------------------------------------------


def organisation(cycle, *, squads: int, per_squad: int, stages: int = 8) -> list[Squad]:
    """`squads` squads of `per_squad` initiatives each, spread over `stages` journey stages,
    each initiative blocked by one of the squad before: written in bulk."""
    dri = f.person("dri-of-many")
    journey = Journey.objects.create(key="many", name="Many")
    stage_rows = Stage.objects.bulk_create(
        Stage(
            journey=journey,
            key=f"stage-{n}",
            name=f"Stage {n}",
            position=n,
            customer_goal="g",
            today="t",
            tomorrow="t",
            emotion_today=0,
            emotion_target=1,
        )
        for n in range(stages)
    )
    made = Squad.objects.bulk_create(
        Squad(key=f"squad-{n:03d}", name=f"Squad {n:03d}", cycle=cycle, dri=dri)
        for n in range(squads)
    )
    Membership.objects.bulk_create(
        Membership(squad=s, person=dri, function="Product") for s in made
    )
    start = dt.date(2027, 1, 4)
    initiatives = Initiative.objects.bulk_create(
        Initiative(
            squad=s,
            key=f"work-{i}",
            title=f"Work {i} of {s.name}",
            function=("Product", "Marketing", "Sales")[i % 3],
            stage=stage_rows[(n * per_squad + i) % stages],
            starts=start + dt.timedelta(days=(7 * i) % 280),
            ends=start + dt.timedelta(days=(7 * i) % 280 + 60),
            headcount=Decimal(1),
            status="planned",
        )
        for n, s in enumerate(made)
        for i in range(per_squad)
    )
    Dependency.objects.bulk_create(
        Dependency(
            key=f"dep-{n}",
            from_initiative=initiatives[n],
            to_initiative=initiatives[n - per_squad],
            what=f"Thing {n}",
            due=initiatives[n].starts,
            blocking=n % 2 == 0,
        )
        for n in range(per_squad, len(initiatives))
    )
    return made


@pytest.mark.parametrize(("squads", "per_squad"), [(3, 4), (200, 25)])
def test_the_cost_is_the_same_for_3_squads_or_200_and_5000_initiatives(
    client, cycle, carol, squads, per_squad, django_assert_max_num_queries, settings
):
    organisation(cycle, squads=squads, per_squad=per_squad)
    client.force_login(carol)
    opened = "?open=squad-001" if squads > 25 else ""
    for query in (
        "",
        "?group=stage&zoom=month",
        opened + ("&" if opened else "?") + "function=Sales",
    ):
        settings.PAGE_CACHE = False  # drawn afresh: every read the page makes
        # The session and person, their relations, the cycles, the filters' four lists, the
        # groups, the page's initiatives and their dependencies, the committed baseline.
        with django_assert_max_num_queries(11):
            fresh = get(client, query)
        settings.PAGE_CACHE = True
        get(client, query)
        # From the cache: the session and person, their relations, the revisions.
        with django_assert_max_num_queries(3):
            assert svg(get(client, query)) == svg(fresh)


def test_200_squads_are_paged_and_their_groups_summed_up_until_opened(client, cycle, carol):
    organisation(cycle, squads=200, per_squad=25)
    client.force_login(carol)
    content = get(client)
    assert groups(content) == [f"Squad {n:03d}" for n in range(25)]
    assert bars(content) == {}  # 25 initiatives a squad: each is one summary row
    assert "Page 1 of 8" in content and "5000</strong> initiatives in 200 squads" in content
    assert (
        '<a class="tl-toggle" href="/timeline/?open=squad-003">'
        "<title>Open Squad 003: its 25 initiatives</title>" in content
    )

    last = get(client, "?page=8")
    assert groups(last) == [f"Squad {n:03d}" for n in range(175, 200)]

    opened = get(client, "?open=squad-003")
    assert len(bars(opened)) == 25
    assert all("(Squad 003)" in title for title in bars(opened).values())
    assert '<a class="tl-toggle" href="/timeline/"><title>Close Squad 003</title>' in opened
    # Its blocking dependencies on the squad before are not drawn while that squad is closed.
    assert arrows(opened) == []
    # A group that is not on the page stays closed.
    assert bars(get(client, "?open=squad-150")) == {}

    by_stage = get(client, "?group=stage&open=many/stage-2")
    assert len(bars(by_stage)) == selectors.OPEN_MAX
    assert "425 more not drawn" in by_stage
    # Bounded whatever the size: the biggest page there is, one group of 625 opened by month.
    biggest = get(client, "?group=stage&open=many/stage-2&zoom=month")
    assert len(svg(biggest)) < 250_000


def test_the_page_is_cached_and_a_change_shows_at_once(client, wizard, carol):
    assert pagecache.enabled()
    client.force_login(carol)
    first = get(client)
    assert "4 Jan – 31 Mar 2027" in bars(first)["/squads/first-90-days/plan/#initiative-wizard"]
    Initiative.objects.filter(pk=wizard.pk).update(ends=dt.date(2027, 4, 30))
    assert (
        "4 Jan – 30 Apr 2027" in bars(get(client))["/squads/first-90-days/plan/#initiative-wizard"]
    )
    Squad.objects.filter(pk=wizard.squad_id).update(name="Renamed squad")
    assert groups(get(client))[0] == "Renamed squad"


def test_a_commit_then_a_moved_date_shows_the_committed_bar_behind(client, wizard, carol, leo):
    """End to end: leadership commits the season (anyway, with a reason), the squad moves
    the wizard; the cached timeline shows the new bar with the committed one behind it."""
    from planning.season import services as season

    client.force_login(carol)
    assert "as committed" not in get(client)  # no commit, no ghost; and the page is cached
    cycle = wizard.squad.cycle
    for to in ("reconciling", "committed"):
        cycle.refresh_from_db()
        season.cycle_move(
            cycle=cycle, to=to, expected=cycle.state, by=leo, reason="Agreed", override=True
        )
    committed = (wizard.starts, wizard.ends)
    wizard.ends = wizard.ends + dt.timedelta(days=30)
    wizard.save()

    content = get(client)

    assert f"{wizard.title}, as committed: " in content
    assert f"{committed[1].day} {committed[1]:%b %Y}" in content
