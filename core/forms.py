"""What every form of the app shares."""

from __future__ import annotations

from django import forms


class FormWithErrors(forms.Form):
    def add_service_errors(self, error) -> None:
        """Put a service's ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)
