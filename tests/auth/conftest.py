"""The UI's signed-in browsers (tests/web/conftest.py) for the authentication tests too."""

from tests.web.conftest import admin, browser_for, member

__all__ = ["admin", "browser_for", "member"]
