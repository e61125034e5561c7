"""Open every page of the built book in a real browser and fail on what a reader would trip over.

    python tools/check_site.py [_build/html] [--screenshots _build/screenshots] [--chromium /usr/bin/chromium]

The site is served from 127.0.0.1 (a local HTTP server on a free port, started and stopped here) and every
page reachable from the home page is opened in headless Chromium (the system's, through Playwright;
Playwright never downloads a browser here). A page fails on

- a JavaScript error from the site's own files (an uncaught exception, or a console error),
- a broken internal link: every ``<a href>`` to the same origin must answer 200, and its ``#anchor``
  must exist on the target page,
- a missing image (an ``<img>`` that answers an error or decodes to width 0),
- a missing main heading (no ``<h1>`` in the article),
- any request to the site that answers 400 or more.

Requests to other hosts (CDNs, fonts, analytics) are blocked and listed, not counted as failures: the
book must work offline. Screenshots of the home page and of a few chapters go to ``--screenshots``.
The last line is a summary; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import http.server
import os
import re
import shutil
import sys
import threading
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Generated pages that are not part of the book's reading order: they are link targets, not pages to check.
NOT_PAGES = {"genindex.html", "search.html", "py-modindex.html"}

# JavaScript errors that come from the pinned toolchain, not from the book, each with why it is harmless.
# They are printed, not counted; any other error fails. Remove an entry when the toolchain fixes it.
KNOWN_UPSTREAM_ERRORS = {
    "Identifier 'THEBE_JS_URL' has already been declared": "sphinx-thebe 0.3.1 adds its inline config script from env-before-read-docs, and Sphinx 7.4 "
    "writes such body-only scripts twice (the registry's copy has filename '' and the builder's None, "
    "so they are not deduplicated); the second copy's `const` fails, the first has already run",
}

# The cheat sheet is meant to be printed: it must fit on this many A4 pages.
CHEAT_SHEET = "book/cheat-sheet.html"
MAX_CHEAT_SHEET_PAGES = 2

# Screenshots: (file name, page path under the site, emulate print media). Missing pages are skipped.
SCREENSHOTS = [
    ("home.png", "index.html", False),
    ("ch02-gb-or-gib.png", "notebooks/02-gb-or-gib.html", False),
    ("ch06-size-it-yourself.png", "notebooks/06-size-it-yourself.html", False),
    ("cheat-sheet-print.png", "book/cheat-sheet.html", True),
]

# Waits for MathJax (when the page loads it) so errors from typesetting are caught and screenshots show it.
WAIT_FOR_MATHJAX = """async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  return !!(mj && mj.version);
}"""

# Loads every image now (lazy ones included) and reports what it decoded to.
IMAGES = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return imgs.map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth, alt: i.getAttribute('alt')}));
}"""

PAGE_FACTS = """() => ({
  launch: Array.from(document.querySelectorAll('.dropdown-launch-buttons a[href]')).map(a => a.href),
  downloads: Array.from(document.querySelectorAll('.dropdown-download-buttons a[href]'))
             .map(a => a.getAttribute('href')),
  h1: Array.from(document.querySelectorAll('main h1, article h1')).map(h => h.textContent.trim()),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id)
       .concat(Array.from(document.querySelectorAll('a[name]')).map(a => a.getAttribute('name'))),
})"""


# ----------------------------------------------------------------------------------------------------
# Pure helpers (tested in tests/test_site_config.py)


def is_page(relpath: str) -> bool:
    """Whether a path under the site is a page of the book: an .html file that is not generated
    (genindex, search) and not under a ``_static``/``_sources``/``_images`` or hidden folder."""
    parts = relpath.replace(os.sep, "/").split("/")
    if not parts[-1].endswith(".html") or parts[-1] in NOT_PAGES:
        return False
    return not any(p.startswith(("_", ".")) for p in parts[:-1])


def same_origin(url: str, origin: str) -> bool:
    """Whether ``url`` is served by the site at ``origin`` (scheme://host:port)."""
    u, o = urlsplit(url), urlsplit(origin)
    return (u.scheme, u.netloc) == (o.scheme, o.netloc)


def split_link(url: str) -> tuple[str, str]:
    """The document a link points at (no query, no fragment) and its fragment."""
    doc, fragment = urldefrag(url)
    return doc.split("?", 1)[0], fragment


class _IdCollector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


def html_ids(text: str) -> set[str]:
    """Every ``id`` (and ``<a name>``) in an HTML document: where ``#fragment`` links may land."""
    collector = _IdCollector()
    collector.feed(text)
    return collector.ids


# ----------------------------------------------------------------------------------------------------
# The local server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class Server:
    """``_build/html`` on 127.0.0.1, on a port the system picks; a context manager."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def fetch(url: str) -> tuple[int, str]:
    """Status and (for HTML) text of a URL on the local server."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            kind = response.headers.get("Content-Type", "")
            body = response.read()
            return response.status, body.decode(
                "utf-8", "replace"
            ) if "html" in kind else ""
    except urllib.error.HTTPError as err:
        return err.code, ""


# ----------------------------------------------------------------------------------------------------
# The browser


class Checker:
    def __init__(self, context, origin: str, root: Path) -> None:
        self.root = root
        self.context = context
        self.origin = origin
        self.failures: dict[str, list[str]] = defaultdict(list)
        self.known: dict[str, set[str]] = defaultdict(
            set
        )  # known upstream error -> pages
        self.blocked: set[str] = set()
        self.ids: dict[
            str, set[str]
        ] = {}  # page URL -> ids, from the DOM of checked pages
        self.links: dict[str, set[str]] = defaultdict(
            set
        )  # target URL -> pages linking to it
        self.pages_checked = 0
        self.images_checked = 0
        context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if same_origin(url, self.origin) or url.startswith(
            ("data:", "blob:", "about:")
        ):
            route.continue_()
        else:
            self.blocked.add(url)
            route.abort("blockedbyclient")

    def _ours(self, url: str | None) -> bool:
        return not url or same_origin(url, self.origin)

    def check_page(self, url: str) -> tuple[str, list[str]]:
        """Open one page; record its failures; return where it landed (after redirects) and the
        same-origin documents it links to."""
        page = self.context.new_page()
        where = url[len(self.origin) :] or "/"
        fail = self.failures[where].append

        def on_console(msg):
            if msg.type == "error" and self._ours(msg.location.get("url")):
                fail(f"console error: {msg.text}")

        def on_pageerror(err):
            stack = err.stack or ""
            if err.message in KNOWN_UPSTREAM_ERRORS:
                self.known[err.message].add(where)
            elif self.origin in stack or "http" not in stack:
                fail(f"JavaScript error: {err.message}")

        def on_response(response):
            if same_origin(response.url, self.origin) and response.status >= 400:
                fail(f"HTTP {response.status} for {response.url[len(self.origin) :]}")

        def on_requestfailed(request):
            if same_origin(request.url, self.origin):
                fail(
                    f"request failed: {request.url[len(self.origin) :]} ({request.failure})"
                )

        page.on("console", on_console)
        page.on("pageerror", on_pageerror)
        page.on("response", on_response)
        page.on("requestfailed", on_requestfailed)
        try:
            page.goto(url, wait_until="load")
            page.wait_for_load_state("networkidle")
            page.evaluate(WAIT_FOR_MATHJAX)
            final = split_link(page.url)[0]
            images = page.evaluate(IMAGES)
            facts = page.evaluate(PAGE_FACTS)
        finally:
            page.close()

        self.pages_checked += 1
        if not any(facts["h1"]):
            fail("no main heading (<h1>) in the article")
        for image in images:
            if same_origin(image["src"], self.origin):
                self.images_checked += 1
                if not image["width"]:
                    fail(f"image did not load: {image['src'][len(self.origin) :]}")
        if self._is_notebook(final):
            for needed in ("colab.research.google.com/github/", "mybinder.org/v2/"):
                if not any(needed in link for link in facts["launch"]):
                    fail(f"no launch button to {needed.split('/')[0]}")
            if not any(d.endswith(".ipynb") for d in facts["downloads"]):
                fail("no download button for the .ipynb")
        self.ids[final] = set(facts["ids"])
        for link in facts["links"]:
            if same_origin(link, self.origin):
                self.links[link].add(where)
        return final, [
            split_link(link)[0]
            for link in facts["links"]
            if same_origin(link, self.origin)
        ]

    def _is_notebook(self, url: str) -> bool:
        """Whether the page was made from a notebook: Sphinx keeps its source as _sources/<page>.ipynb."""
        rel = url[len(self.origin) + 1 :]
        return (
            rel.endswith(".html")
            and (self.root / "_sources" / rel).with_suffix(".ipynb").is_file()
        )

    def check_links(self) -> int:
        """Every same-origin link answers 200 and lands on an existing anchor. Returns the count."""
        statuses: dict[str, int] = {}
        for link in sorted(self.links):
            doc, fragment = split_link(link)
            if doc not in statuses:
                status, text = fetch(doc)
                statuses[doc] = status
                if doc not in self.ids and text:
                    self.ids[doc] = html_ids(text)
            for where in sorted(self.links[link]):
                if statuses[doc] != 200:
                    self.failures[where].append(
                        f"broken link ({statuses[doc]}): {link[len(self.origin) :]}"
                    )
                elif fragment and fragment not in self.ids.get(doc, set()):
                    self.failures[where].append(
                        f"missing anchor: {link[len(self.origin) :]}"
                    )
        return len(self.links)

    def printed_pages(self, url: str, path: Path) -> int:
        """Print ``url`` to a PDF (A4, as a reader's browser would) and count its pages."""
        page = self.context.new_page()
        try:
            page.goto(url, wait_until="load")
            page.wait_for_load_state("networkidle")
            page.evaluate(WAIT_FOR_MATHJAX)
            pdf = page.pdf(path=str(path), format="A4", print_background=False)
        finally:
            page.close()
        return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))

    def screenshot(self, url: str, path: Path, print_media: bool) -> None:
        page = self.context.new_page()
        try:
            if print_media:
                page.emulate_media(media="print")
            page.goto(url, wait_until="load")
            page.wait_for_load_state("networkidle")
            page.evaluate(WAIT_FOR_MATHJAX)
            page.evaluate(IMAGES)
            page.screenshot(path=str(path), full_page=True)
        finally:
            page.close()


def crawl(checker: Checker, root: Path, origin: str) -> list[str]:
    """Every page reachable from the home page, breadth first (the table of contents is in every
    page's sidebar, so this is every page of the book). Returns the page files on disk not reached."""
    queue, seen = [f"{origin}/index.html"], set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        final, targets = checker.check_page(url)
        seen.add(final)
        for target in targets:
            rel = target[len(origin) + 1 :]
            if target not in seen and is_page(rel) and (root / rel).is_file():
                queue.append(target)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*.html")}
    return sorted(
        rel for rel in on_disk if is_page(rel) and f"{origin}/{rel}" not in seen
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", nargs="?", default="_build/html", type=Path)
    parser.add_argument("--screenshots", default=Path("_build/screenshots"), type=Path)
    parser.add_argument(
        "--chromium", default=shutil.which("chromium") or "/usr/bin/chromium"
    )
    args = parser.parse_args(argv)

    root = args.html.resolve()
    if not (root / "index.html").is_file():
        print(f"check-site: no site at {root} (run make book)", file=sys.stderr)
        return 2
    if not Path(args.chromium).is_file():
        print(f"check-site: no Chromium at {args.chromium}", file=sys.stderr)
        return 2
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    args.screenshots.mkdir(parents=True, exist_ok=True)
    with Server(root) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=args.chromium,
            args=CHROMIUM_FLAGS,
            chromium_sandbox=False,
            headless=True,
        )
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, service_workers="block"
        )
        context.set_default_timeout(60_000)
        checker = Checker(context, server.origin, root)
        unreached = crawl(checker, root, server.origin)
        links = checker.check_links()
        shots = []
        for name, rel, print_media in SCREENSHOTS:
            if (root / rel).is_file():
                checker.screenshot(
                    f"{server.origin}/{rel}", args.screenshots / name, print_media
                )
                shots.append(name)
        cheat = root / CHEAT_SHEET
        if cheat.is_file():
            pages = checker.printed_pages(
                f"{server.origin}/{CHEAT_SHEET}", args.screenshots / "cheat-sheet.pdf"
            )
            shots.append(f"cheat-sheet.pdf ({pages} pages)")
            if not 1 <= pages <= MAX_CHEAT_SHEET_PAGES:
                checker.failures.setdefault(CHEAT_SHEET, []).append(
                    f"prints on {pages} pages; the cheat sheet must print on at most {MAX_CHEAT_SHEET_PAGES}"
                )
        context.close()
        browser.close()

    failures = sum(len(v) for v in checker.failures.values())
    for where, problems in sorted(checker.failures.items()):
        for problem in problems:
            print(f"FAIL {where}: {problem}")
    if checker.blocked:
        hosts = sorted({urlsplit(u).netloc for u in checker.blocked})
        print(f"blocked requests to other hosts ({', '.join(hosts)}):")
        for url in sorted(checker.blocked):
            print(f"  {url}")
    for message, pages in sorted(checker.known.items()):
        print(
            f"known upstream error on {len(pages)} pages, not counted: {message}\n"
            f"  ({KNOWN_UPSTREAM_ERRORS[message]})"
        )
    if unreached:
        print(
            f"not linked from the book (stale files from an earlier build?): {', '.join(unreached)}"
        )
    print(f"screenshots in {args.screenshots}: {', '.join(shots)}")
    print(
        f"check-site: {checker.pages_checked} pages, {links} links, {checker.images_checked} images "
        f"checked; {len(checker.blocked)} external requests blocked; {failures} failures"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
