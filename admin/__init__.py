"""The staff panel (aiohttp + Jinja2): accounts and roles, the tip queue, the audit log."""

from admin._web import Panel
from admin.app import create_app

__all__ = ["Panel", "create_app"]
