"""Headless Chromium for browser tests: the web chat now, the staff panel later.

Browsers are not downloaded (no `playwright install`): the tests drive Debian's Chromium,
`apt-get install chromium`, at /usr/bin/chromium (override with ANTQ_CHROMIUM). Usage:

    async with browser_page(viewport=PHONE) as page:
        await page.goto(url)

Everything (page, context, browser, the Playwright driver) is closed on exit, so pytest with
warnings as errors sees no ResourceWarning.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

import pytest
from playwright.async_api import Page, async_playwright


class Viewport(TypedDict):
    width: int
    height: int


CHROMIUM = Path(os.environ.get("ANTQ_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium tries the network (closed in tests/CI).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PHONE: Viewport = {"width": 390, "height": 844}  # a common phone, in CSS pixels
DESKTOP: Viewport = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000  # for actions and `expect(...)`; a local server answers far sooner


def chromium_path() -> Path:
    """Debian's Chromium, or a failed test that says how to install it."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: browser tests need Debian's package, "
            "`apt-get update && apt-get install -y chromium` (as root; never `playwright "
            "install`), or set ANTQ_CHROMIUM to another Chromium binary.",
            pytrace=False,
        )
    return CHROMIUM


@asynccontextmanager
async def browser_page(
    viewport: Viewport = PHONE, *, locale: str = "vi-VN", mobile: bool | None = None
) -> AsyncIterator[Page]:
    """A fresh page (own cookies) in headless Chromium; phone-sized, touch, Vietnamese.

    `mobile` defaults to true for viewports narrower than 600 px (touch, mobile meta viewport).
    """
    executable = chromium_path()
    is_mobile = viewport["width"] < 600 if mobile is None else mobile
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            context = await browser.new_context(
                viewport={"width": viewport["width"], "height": viewport["height"]},
                device_scale_factor=2 if is_mobile else 1,
                is_mobile=is_mobile,
                has_touch=is_mobile,
                locale=locale,
            )
            context.set_default_timeout(TIMEOUT_MS)
            try:
                yield await context.new_page()
            finally:
                await context.close()
        finally:
            await browser.close()
