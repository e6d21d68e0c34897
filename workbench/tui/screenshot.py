"""Screenshots from the command palette that land in a directory that exists, and say where."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional


def screenshot_dir(preferred: Optional[str] = None) -> Path:
    """The first of: the given directory, ~/Downloads, ~, the working directory, the temp directory."""
    candidates = [preferred] if preferred else []
    candidates += ["~/Downloads", "~", ".", tempfile.gettempdir()]
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if path.is_dir():
            return path.resolve()
    return Path(tempfile.gettempdir())


class SavesScreenshots:
    """App mixin: the palette's "Save screenshot" falls back to a directory that exists and names the file.

    The palette's system command calls ``deliver_screenshot`` (Textual saves into ~/Downloads, and
    fails where there is none); the ``screenshot`` action saves directly. Both land in ``screenshot_dir``.
    """

    def deliver_screenshot(self, filename: Optional[str] = None, path: Optional[str] = None,
                           time_format: Optional[str] = None) -> Optional[str]:
        return super().deliver_screenshot(filename, str(screenshot_dir(path)), time_format)

    def action_screenshot(self, filename: Optional[str] = None, path: Optional[str] = None) -> None:
        directory = screenshot_dir(path)
        try:
            saved = self.save_screenshot(filename, str(directory))
        except OSError as exc:
            self.notify(f"could not save the screenshot in {directory}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"screenshot saved to {saved}", title="Screenshot", timeout=6)
