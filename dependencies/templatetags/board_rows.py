"""{% board_row dep %}: a board row as the `row` partial of dependencies/board.html draws it;
{% board_group_head g form.to.value %}: a group's heading row.

The board draws fifty rows a page; the template language spends more on a row's forty-odd
tags than on anything else the board does, so the board's own rows are written here, the
same markup character for character, escaped the same way (tests/test_web_board.py compares
the two). The partial stays the one source for a row redrawn alone (an answer, the decline
form, its Cancel): change both together.
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import date, linebreaksbr
from django.template.defaulttags import querystring
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def board_row(context, dep) -> SafeString:
    token = context.get("csrf_token")
    csrf = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'
        if token and token != "NOTPROVIDED"
        else ""
    )
    nq = esc(context.get("next_q", ""))
    short = esc(dep.short_what)
    key = esc(dep.key)
    out = [
        f'\n\n<tr id="dep-{key}" class="dep-row{esc(dep.row_class)}">\n'
        '  <td class="dep-what">\n'
        f'    <span class="dep-what__text">{esc(dep.what)}</span>\n'
        '    <span class="dep-what__meta">\n'
        f"      {'<span class="badge badge--bad">Blocking</span>' if dep.blocking else ''}\n"
        f'      <code class="dep-key">{key}</code>\n'
        "    </span>\n"
    ]
    if dep.note:
        out.append(
            '    \n    <details class="dep-note"><summary>Note</summary><p>'
            f"{linebreaksbr(dep.note)}</p></details>\n    \n"
        )
    else:
        out.append("    \n")
    out.append(
        "  </td>\n  <td>\n"
        f'    <a href="{esc(dep.needer_url)}">{esc(dep.needer_name)}</a>\n'
        "    "
        + (
            f'<span class="sub">{esc(dep.needer_initiative)}</span>'
            if dep.needer_initiative
            else ""
        )
        + "\n  </td>\n  <td>\n    "
    )
    name = esc(dep.provider_name)
    if dep.provider_kind == "function":
        out.append(f'\n    {name} <span class="sub">function</span>\n    ')
    elif dep.provider_kind == "removed":
        initiative = f" · {esc(dep.provider_initiative)}" if dep.provider_initiative else ""
        out.append(f'\n    {name}{initiative} <span class="sub">removed</span>\n    ')
    else:
        initiative = (
            f'<span class="sub">{esc(dep.provider_initiative)}</span>'
            if dep.provider_initiative
            else ""
        )
        out.append(f'\n    <a href="{esc(dep.provider_url)}">{name}</a>\n    {initiative}\n    ')
    out.append("\n  </td>\n  <td>\n    ")
    if dep.affected_stage:
        out.append(
            f'\n    <a href="{esc(dep.stage_url)}">{esc(dep.stage_name)}</a>\n'
            f'    <span class="sub">{esc(dep.stage_journey)}</span>\n    '
        )
    else:
        out.append('<span class="muted">—</span>')
    late = (
        f'<span class="sub sub--bad">{dep.days_late} day{"" if dep.days_late == 1 else "s"}'
        " late</span>"
        if dep.overdue
        else ""
    )
    owner = esc(dep.owner_name) if dep.owner_name else '<span class="muted">—</span>'
    status = esc(dep.status)
    reason = (
        f'<span class="sub dep-reason">{esc(dep.status_reason_shown)}</span>'
        if dep.status_reason_shown
        else ""
    )
    out.append(
        "\n  </td>\n"
        '  <td class="nowrap">\n'
        f"    {esc(date(dep.due, 'j M Y'))}\n"
        f"    {late}\n"
        "  </td>\n"
        f'  <td><span class="badge badge--{status}">{esc(dep.status_label)}</span>{reason}</td>\n'
        f"  <td>{owner}</td>\n"
        '  <td class="dep-answer">\n'
        "    \n    \n    "
    )
    if dep.actions or dep.can_decline:
        respond = esc(dep.respond_url)
        out.append(
            f'\n    <form class="dep-actions" method="post" action="{respond}"\n'
            f'          hx-post="{respond}" hx-target="closest tr" hx-swap="outerHTML">\n'
            f"      {csrf}\n"
            f'      <input type="hidden" name="was" value="{status}">\n'
            f'      <input type="hidden" name="next" value="{esc(context.get("next", ""))}">\n'
            "      "
        )
        for action, label, form_url in dep.actions:
            accept = " btn-accept" if action == "accept" else ""
            if form_url:
                url = f"{esc(form_url)}?next={nq}"
                out.append(
                    "\n      \n"
                    f'      <a class="btn btn-small{accept}" href="{url}"\n'
                    f'         hx-get="{url}" hx-target="closest tr" hx-swap="outerHTML"\n'
                    f'         aria-label="{esc(label)}: {short}">{esc(label)}…</a>\n'
                    "      \n      "
                )
                continue
            out.append(
                "\n      \n"
                f'      <button type="submit" class="btn btn-small{accept}" name="action"'
                f' value="{esc(action)}" aria-label="{esc(label)}: {short}">{esc(label)}</button>'
                "\n      \n      "
            )
        out.append("\n      ")
        if dep.can_decline:
            decline = f"{esc(dep.decline_url)}?next={nq}"
            out.append(
                f'\n      <a class="btn btn-small btn-danger" href="{decline}"\n'
                f'         hx-get="{decline}" hx-target="closest tr" hx-swap="outerHTML"\n'
                f'         aria-label="Decline: {short}">Decline…</a>\n      '
            )
        out.append("\n    </form>\n    ")
    out.append("\n    ")
    if dep.can_edit:
        out.append(
            f'<a class="dep-edit small" href="{esc(dep.edit_url)}?next={nq}"'
            f' aria-label="Edit: {short}">Edit</a>\n'
            f'    <a class="dep-edit small" href="{esc(dep.remove_url)}?next={nq}"'
            f' aria-label="Remove: {short}">Remove</a>'
        )
    out.append("\n  </td>\n</tr>\n\n")
    return SafeString("".join(out))


@register.simple_tag(takes_context=True)
def board_group_head(context, group, filtered_to) -> SafeString:
    """{% board_group_head g form.to.value %}: a group's heading row, as the template wrote
    it (a board by needing squad has a heading for nearly every row)."""
    if not group.label:
        return SafeString("")
    counts = group.counts
    total = counts.get("total") or 0
    label = esc(group.label)
    link = f'<a href="{esc(group.url)}">{label}</a>' if group.url else label
    only = (
        '<a class="group-head__filter small"'
        f' href="{esc(querystring(context, to=group.filter_key, page=None))}">Only this'
        " provider</a>"
        if group.filter_key and group.filter_key != filtered_to
        else ""
    )
    overdue, at_risk, blocking = (counts.get(m) for m in ("overdue", "at_risk", "blocking"))
    return SafeString(
        '\n      <tr class="group-row">\n'
        f'        <th colspan="{esc(context.get("columns", ""))}" scope="colgroup">\n'
        '          <div class="group-head">\n'
        '            <span class="group-head__title">\n'
        "              "
        + ('<span class="badge badge--info">Function</span>' if group.kind == "function" else "")
        + f"\n              {link}\n              "
        + ('<span class="muted">(continued)</span>' if group.continued else "")
        + "\n            </span>\n"
        '            <span class="group-head__counts">\n'
        f"              <span>{esc(total)} dependenc{'y' if total == 1 else 'ies'}</span>\n"
        "              "
        + (f'<span class="badge badge--overdue">{esc(overdue)} overdue</span>' if overdue else "")
        + "\n              "
        + (f'<span class="badge badge--at_risk">{esc(at_risk)} at risk</span>' if at_risk else "")
        + "\n              "
        + (f'<span class="badge">{esc(blocking)} blocking</span>' if blocking else "")
        + "\n            </span>\n"
        f"            {only}\n"
        "          </div>\n"
        "        </th>\n"
        "      </tr>\n      "
    )
