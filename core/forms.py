"""What every form of the app shares."""

from __future__ import annotations

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe


class FormWithErrors(forms.Form):
    def add_service_errors(self, error) -> None:
        """Put a service's ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)


class QuickSelect(forms.Select):
    """A select drawn in Python rather than through a template per option: the same HTML
    as Django's Select, for lists long enough that the templates cost (the board's filters
    list every squad of the cycle twice: about 20 ms a page through the templates, a
    fraction of a millisecond here). One option selected at most, as Select does."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        wanted = set(self.format_value(value))
        chosen = False
        shown = {"name": name, **self.build_attrs(self.attrs, attrs)}
        # As django/forms/widgets/attrs.html writes them, in order.
        parts = ["<select"]
        for key, attr in shown.items():
            if attr is not False:
                parts.append(f" {key}" if attr is True else f' {key}="{conditional_escape(attr)}"')
        parts.append(">")

        def option(option_value, label) -> str:
            nonlocal chosen
            text = "" if option_value is None else str(option_value)
            selected = not chosen and text in wanted
            chosen = chosen or selected
            return (
                f'\n  <option value="{conditional_escape(text)}"{" selected" if selected else ""}>'
                f"{conditional_escape(label)}</option>"
            )

        for group_value, group_label in self.choices:
            if isinstance(group_label, list | tuple):
                parts.append(f'\n  <optgroup label="{conditional_escape(group_value)}">')
                parts.extend(option(v, label) for v, label in group_label)
                parts.append("\n  </optgroup>")
            else:
                parts.append(option(group_value, group_label))
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every value and label escaped above)
