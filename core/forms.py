"""What every form of the app shares."""

from __future__ import annotations

from django import forms
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe


class FormWithErrors(forms.Form):
    def add_service_errors(self, error) -> None:
        """Put a service's ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)


class LongSelect(forms.Select):
    """A select of many options (a squad among hundreds) drawn in Python.

    Django's Select draws each option through two templates (the option and its
    attributes), about 20 µs an option: a filter of 200 squads cost 4 ms a page. This draws
    the same markup, `<option value="…" selected>…</option>`, escaped the same way, for
    flat choices (no groups)."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        chosen = {str(v) for v in self.format_value(value)}
        options = "".join(
            f'<option value="{conditional_escape(option)}"'
            f"{' selected' if str(option) in chosen else ''}>{conditional_escape(label)}</option>"
            for option, label in self.choices
        )
        # As django/forms/widgets/attrs.html writes them, in the same order.
        attributes = "".join(
            format_html(" {}", key) if given is True else format_html(' {}="{}"', key, given)
            for key, given in final.items()
            if given is not False
        )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            mark_safe(attributes),  # noqa: S308
            mark_safe(options),  # noqa: S308
        )
