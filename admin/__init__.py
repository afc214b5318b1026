"""The staff panel (aiohttp + Jinja2): accounts and roles, the tip queue, the audit log."""

from admin.app import Panel, create_app

__all__ = ["Panel", "create_app"]
