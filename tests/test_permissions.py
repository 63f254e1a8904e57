"""Every route × every role does exactly what docs/permissions.md says, and no route is
missing from it: a new view without a documented rule fails here."""

from __future__ import annotations

import pytest

from tests import permission_matrix as matrix

pytestmark = pytest.mark.django_db


def test_every_route_has_a_documented_rule():
    table = matrix.documented()
    listed = {case.route for case in table} | set(matrix.exempt())
    missing = sorted(matrix.routes() - listed)
    assert not missing, (
        "Routes without a rule in docs/permissions.md (run this module with "
        f"--permissions-table to see what they do now): {', '.join(missing)}"
    )
    gone = sorted({case.route for case in table} - matrix.routes())
    assert not gone, f"docs/permissions.md lists routes that no longer exist: {', '.join(gone)}"
    for case, row in table.items():
        assert set(row.values()) <= matrix.OUTCOMES, f"{case}: unknown outcome in {row}"


def test_every_role_gets_exactly_the_documented_answer(request):
    world = matrix.World()
    table = matrix.documented()
    if request.config.getoption("--permissions-table"):
        cases = sorted(
            {
                matrix.Case(r, m)
                for r in matrix.routes() - set(matrix.exempt())
                for m in ("GET", "POST", "PUT", "DELETE")
                if m == (matrix.api_method(r) or m)
                and (m not in ("PUT", "DELETE") or matrix.api_method(r))
            },
            key=lambda c: (c.route, c.method),
        )
    else:
        cases = sorted(table, key=lambda c: (c.route, c.method))
    wrong = []
    lines = []
    for case in cases:
        seen = {role: matrix.observe(world, case, role) for role in matrix.ROLES}
        if any(v.startswith("error 405") for v in seen.values()):
            continue
        lines.append(
            f"| `{case.route}` | {case.method} | "
            + " | ".join(seen[r] for r in matrix.ROLES)
            + " |"
        )
        expected = table.get(case)
        if expected is not None and expected != seen:
            diff = ", ".join(
                f"{r}: documented {expected[r]}, got {seen[r]}"
                for r in matrix.ROLES
                if expected[r] != seen[r]
            )
            wrong.append(f"{case.method} {case.route}: {diff}")
    if request.config.getoption("--permissions-table"):
        print("\n" + "\n".join(lines))
    assert not wrong, "Answers that differ from docs/permissions.md:\n" + "\n".join(wrong)
