"""Hostile input at every page and form of the staff panel, logged in as an administrator.

The routes come from the panel's own router, so a new page or form is fuzzed without editing
this file (and the test fails if a route was left out). A crawler follows every link of the
panel from its home page and reads every form (its action, its fields, their values and
options). Then Hypothesis:

* GETs every page with random query strings: known parameter names and random ones,
  repeated, with hostile values (fake digits, huge numbers, NFD, bidirectional controls,
  lone surrogates and invalid UTF-8 once percent-decoded);
* POSTs every form with a valid CSRF token: each field dropped, kept, repeated or replaced by
  a hostile or a very long value, plus random extra fields, urlencoded or multipart.

No answer may be a 5xx, nothing may be logged at ERROR, and the home page is still served
afterwards. A multipart form with a 30 MB file and a urlencoded body over the limit get 413.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from admin import Panel as PanelDeps
from admin import create_app
from bot.models import StaffUser
from bot.staff import hash_password
from content.unanswered import record_unanswered
from tests.admin.conftest import Panel
from tests.admin.panel import PASSWORD, add_staff, file_tip
from tests.admin.test_campaigns import create as create_campaign
from tests.hostile.fuzz import Fuzz, error_records
from tests.hostile.strategies import hostile_settings, hostile_text, long_text

#: Random query strings per page, and random submissions per form.
QUERIES = 10
SUBMISSIONS = 15
#: Query parameters the panel reads (more are found in its links and GET forms).
KNOWN_PARAMETERS = ["lang", "page", "status", "error", "created", "saved", "done", "year"]
KNOWN_PARAMETERS += ["commune", "channel", "from", "to", "sort", "tip", "officer", "kind"]
#: Routes the crawler cannot reach from an empty panel, each with why.
UNREACHED = {
    ("GET", "/tips/{code}/photos/{photo}"): "the filed tip has no photo",
}
#: Forms posted only at the end, as they end the session or count failed logins.
LAST = ("/admin/logout", "/admin/login")


@dataclass
class Form:
    action: str
    method: str
    #: Each field's name and the values the page offers for it (defaults, options).
    fields: dict[str, list[str]] = field(default_factory=dict)


class _Page(HTMLParser):
    """Links and forms of one page."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._select: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/admin"):
            self.links.append(a["href"])
        elif tag == "form":
            action = a.get("action") or urlsplit(self.url).path
            self.forms.append(Form(action, (a.get("method") or "get").upper()))
        elif tag in ("input", "select", "textarea", "button") and self.forms and a.get("name"):
            values = self.forms[-1].fields.setdefault(a["name"], [])
            if a.get("value"):
                values.append(a["value"])
            self._select = values if tag == "select" else None
        elif tag == "option" and self._select is not None and a.get("value"):
            self._select.append(a["value"])


def _route_pattern(canonical: str) -> re.Pattern[str]:
    """The regex of an aiohttp route path ("/users/{id}", "/stats/{page:[a-z_]+}")."""
    out, pos = "", 0
    for match in re.finditer(r"\{(\w+)(?::([^{}]+))?\}", canonical):
        out += re.escape(canonical[pos : match.start()]) + f"({match.group(2) or '[^/]+'})"
        pos = match.end()
    return re.compile("/admin" + out + re.escape(canonical[pos:]) + "$")


def panel_routes(panel: Panel) -> list[tuple[str, str]]:
    """Every (method, path) the panel's router serves, from the router itself."""
    runtime = panel.stack.runtime
    app = create_app(PanelDeps(runtime.db, runtime.settings))
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method in ("GET", "POST")
    }
    return sorted(r for r in routes if not r[1].startswith("/static"))


def _csrf_in(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "no CSRF field (not logged in?)"
    return found.group(1)


def _encode(value: str) -> str:
    """Percent-encoded UTF-8; a lone surrogate becomes bytes that are not UTF-8."""
    return quote(_bytes(value), safe="")


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _values(offered: list[str]) -> st.SearchStrategy[str]:
    choices = [st.sampled_from(offered)] if offered else []
    anything = st.one_of(*choices, hostile_text(), long_text(), st.just(""))
    return anything


@st.composite
def submissions(draw: st.DrawFn, form: Form) -> list[tuple[str, str]]:
    """A form as a hostile client fills it: fields dropped, repeated, replaced or added."""
    pairs: list[tuple[str, str]] = []
    for name, offered in form.fields.items():
        if name == "csrf":
            continue
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
            pairs.append((name, draw(_values(offered))))
    for _ in range(draw(st.integers(0, 3))):
        pairs.append((draw(hostile_text(2)), draw(_values([]))))
    return draw(st.permutations(pairs))


def queries(names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Query strings that fit aiohttp's 8 KB request line (a longer one is refused by the
    HTTP parser itself, tested once in `too_large`)."""
    name = st.one_of(st.sampled_from(names), hostile_text(2))
    value = st.one_of(hostile_text(), st.just(""), st.sampled_from(["ệ" * 200, "9" * 500]))
    return st.lists(st.tuples(name, value), max_size=5)


@dataclass
class PanelFuzz:
    """An administrator's blocking client going through the whole panel (worker thread)."""

    fuzz: Fuzz
    base: str
    #: Restores the administrator's password (a fuzzed form may legitimately reset it).
    reset: Callable[[], None] = lambda: None
    urls: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    figures: Counter[str] = field(default_factory=Counter)
    #: The forms to post: one per route and set of fields.
    chosen: list[Form] = field(default_factory=list)

    @property
    def client(self) -> httpx.Client:
        return self.fuzz.client

    def login_page_csrf(self) -> str:
        self.client.cookies.clear()
        return _csrf_in(self.client.get(self.base + "/admin/login").text)

    def login(self) -> None:
        for attempt in range(2):
            data = {"username": "admin", "password": PASSWORD, "totp": ""}
            data["csrf"] = self.login_page_csrf()
            if self.client.post(self.base + "/admin/login", data=data).status_code == 303:
                return
            assert attempt == 0, "the administrator cannot log in any more"
            self.reset()

    def csrf(self) -> str:
        response = self.client.get(self.base + "/admin/")
        if response.status_code != 200:  # the last form ended this session
            self.login()
            response = self.client.get(self.base + "/admin/")
        return _csrf_in(response.text)

    def crawl(self, limit: int = 150) -> None:
        """Every panel URL reachable by links from the home page, and every form on them."""
        seen: dict[str, None] = {}
        forms: dict[tuple[str, str, tuple[str, ...]], Form] = {}
        queue = ["/admin/", "/admin/login"]  # no link leads to the login page once in
        while queue and len(seen) < limit:
            url = queue.pop(0)
            if url in seen:
                continue
            seen[url] = None
            path = urlsplit(url).path
            if path.startswith("/admin/static") or path.endswith((".csv", ".xlsx")):
                continue
            if path == "/admin/login":  # as someone not logged in sees it
                response = httpx.get(self.base + url)
            else:
                response = self.client.get(self.base + url)
            assert response.status_code < 500, (url, response.status_code)
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            page = _Page(url)
            page.feed(response.text)
            queue += [link for link in page.links if link not in seen]
            for form in page.forms:
                forms.setdefault((form.action, form.method, tuple(sorted(form.fields))), form)
        self.urls, self.forms = list(seen), list(forms.values())

    def targets(self, route: tuple[str, str]) -> list[str]:
        """Up to two crawled paths (GET) this route serves (one tip, campaign… is enough)."""
        pattern = _route_pattern(route[1])
        return sorted({urlsplit(u).path for u in self.urls if pattern.match(urlsplit(u).path)})[:2]

    def forms_of(self, route: tuple[str, str]) -> list[Form]:
        """The forms posting to this route, one per set of fields."""
        pattern = _route_pattern(route[1])
        found: dict[tuple[str, ...], Form] = {}
        for form in self.forms:
            if form.method == "POST" and pattern.match(form.action):
                found.setdefault(tuple(sorted(form.fields)), form)
        return list(found.values())

    def pages_and_forms(self, routes: list[tuple[str, str]]) -> None:
        """Every page with random queries, then every form but the last ones."""
        self.login()
        self.crawl()
        names = sorted(
            {*KNOWN_PARAMETERS}
            | {k for u in self.urls for k in re.findall(r"[?&]([^=&]+)=", u)}
            | {n for f in self.forms if f.method == "GET" for n in f.fields}
        )
        reached = {r for r in routes if (self.targets(r) if r[0] == "GET" else self.forms_of(r))}
        missing = [r for r in routes if r not in reached and r not in UNREACHED]
        assert missing == [], f"routes the crawler never reached: {missing}"
        self.chosen = [f for r in routes if r[0] == "POST" for f in self.forms_of(r)]
        for route in routes:
            if route[0] == "GET":
                for path in self.targets(route):
                    self.page(path, names)
        self.post_forms(last=False)

    def post_forms(self, *, last: bool) -> None:
        for form in self.chosen:
            if (form.action in LAST) == last:
                self.form(form)

    def page(self, path: str, names: list[str]) -> None:
        @hostile_settings(QUERIES)
        @given(queries(names))
        def get_with_query(query: list[tuple[str, str]]) -> None:
            string = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in query)
            self.fuzz.request("GET", f"{self.base}{path}?{string}")

        get_with_query()
        self.figures["pages"] += 1
        self.figures["queries"] += QUERIES

    def form(self, form: Form) -> None:
        @hostile_settings(SUBMISSIONS)
        @given(submissions(form), st.booleans())
        def post(pairs: list[tuple[str, str]], multipart: bool) -> None:
            login = form.action == "/admin/login"
            csrf = self.login_page_csrf() if login else self.csrf()
            pairs = [("csrf", csrf), *pairs]
            url = self.base + form.action
            if multipart:
                # a part's name travels as text in its header: only its value can be any bytes
                files = [
                    (k.encode("utf-8", "replace").decode(), (None, _bytes(v))) for k, v in pairs
                ]
                self.fuzz.request("POST", url, files=files)
            else:
                body = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                self.fuzz.request("POST", url, content=body.encode(), headers=headers)

        post()
        self.figures["forms"] += 1
        self.figures["submissions"] += SUBMISSIONS

    def too_large(self) -> None:
        """A 30 MB file in a multipart form, and a urlencoded body over the limit: 413."""
        self.login()
        huge = b"\xff" * (30 * 1024 * 1024)
        for path in ("/admin/account", "/admin/users/new", "/admin/campaigns/new"):
            files = {"csrf": (None, self.csrf().encode()), "photo": ("big.jpg", huge, "image/jpeg")}
            self.fuzz.request("POST", self.base + path, files=files, allowed=(413,))
            body = f"csrf={self.csrf()}&display_name=" + "x" * (2 * 1024 * 1024)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            self.fuzz.request(
                "POST", self.base + path, content=body, headers=headers, allowed=(413,)
            )
        assert self.client.get(self.base + "/admin/").status_code == 200


async def _reset_admin(panel: Panel) -> None:
    """Give `admin` its password back: a hostile form may have legitimately reset it."""
    async with panel.stack.runtime.db.session() as session:
        user = (
            await session.execute(select(StaffUser).where(StaffUser.username == "admin"))
        ).scalar_one()
        user.password_hash = hash_password(PASSWORD)
        user.failed_logins, user.locked_until, user.totp_secret = 0, None, None


async def test_every_page_and_form_survives_hostile_input(
    panel: Panel, caplog: pytest.LogCaptureFixture
) -> None:
    stack = panel.stack
    await file_tip(stack.runtime.db, stack.settings)
    await create_campaign(panel)
    async with stack.runtime.db.session() as session:  # for the unanswered questions' forms
        for question in ("giá vàng hôm nay", "xổ số miền Nam"):
            await record_unanswered(session, question, "vi")
    base = stack.runtime.url
    loop = asyncio.get_running_loop()
    routes = panel_routes(panel)
    fuzz = Fuzz(loop, caplog)
    admin = PanelFuzz(fuzz, base, reset=lambda: fuzz.call(_reset_admin(panel)))
    await fuzz.run(lambda f: admin.pages_and_forms(routes))
    figures = admin.figures
    assert figures["forms"] >= 10 and figures["pages"] >= 15, figures
    await _reset_admin(panel)
    admin.fuzz = Fuzz(loop, caplog)
    await admin.fuzz.run(lambda f: admin.too_large())
    # a session opened now must outlive the hostile logouts and logins (and their throttle)
    await add_staff(stack.runtime.db, "after_fuzz", "admin")
    witness = await panel.logged_in("after_fuzz")
    try:
        admin.fuzz = Fuzz(loop, caplog)
        await admin.fuzz.run(lambda f: admin.post_forms(last=True))
        for page in ("/admin/", "/admin/tips", "/admin/users", "/admin/campaigns"):
            assert (await witness.get(page))[0] == 200, page
    finally:
        await witness.close()
    assert error_records(caplog) == []
    print("panel fuzzing:", figures)


#: Where the panel turns text from a URL into a number (each checked by `str.isdigit`).
NUMBER_PLACES = [
    "/admin/tips?page={}",
    "/admin/tips?commune={}",
    "/admin/audit?page={}",
    "/admin/campaigns?page={}",
    "/admin/campaigns/{}",
    "/admin/users/{}",
    "/admin/stats?commune={}",
    "/admin/stats/report?year={}",
    "/admin/stats/report?commune={}",
    "/admin/tips/{{code}}/photos/{}",
]


@pytest.mark.parametrize(
    "value",
    [
        "²",  # a digit to str.isdigit, not to int()
        "9" * 30,  # more than any integer column holds
        "١٢",
    ],
)
async def test_fake_digits_and_huge_numbers_in_urls_get_a_4xx_or_a_page(
    panel: Panel, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    """Each place a number is read from a URL, with a digit `int` refuses ("²"), one it
    reads differently ("١٢", Arabic-Indic), and one no database column holds."""
    tip = await file_tip(panel.stack.runtime.db, panel.stack.settings)
    client = await panel.logged_in("admin")
    failures = []
    try:
        for place in NUMBER_PLACES:
            url = place.format(value).replace("{code}", tip.code)
            status, _ = await client.get(url)
            if status >= 500:
                failures.append((url, status, error_records(caplog)[-1:]))
    finally:
        await client.close()
    assert failures == []
