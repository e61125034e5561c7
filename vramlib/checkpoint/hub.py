"""The Hugging Face Hub by repository id: config.json, the safetensors index and
headers.

Files are fetched with ``urllib`` from
``{HF_ENDPOINT}/{repo}/resolve/{revision}/{file}`` (the Hub's download URL layout;
``HF_ENDPOINT`` defaults to https://huggingface.co). safetensors headers are read with
HTTP range requests (8 bytes, then the header), never the weights.

Environment, as ``huggingface_hub`` reads it (its documentation, "Environment
variables":
https://huggingface.co/docs/huggingface_hub/package_reference/environment_variables):
``HF_ENDPOINT``; ``HF_TOKEN`` (sent as a bearer token, dropped when a redirect leaves
the endpoint's host); ``HF_HUB_OFFLINE`` (1/true: only the cache is read). vramlib's
own: ``VRAMLIB_CACHE`` (the cache folder; default ``$XDG_CACHE_HOME/vramlib/hub`` or
``~/.cache/vramlib/hub``) and ``VRAMLIB_HUB_TIMEOUT`` (seconds per request, default 10).

Every failure is one :class:`HubError` line: gated or private (401/403), missing (404),
a timeout, an unreachable endpoint, offline without a cached copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import safetensors as st

DEFAULT_ENDPOINT = "https://huggingface.co"
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9_.-]{1,96}$")
_REVISION = re.compile(r"^[A-Za-z0-9_./-]{1,200}$")
MAX_SHARDS = 5000
MAX_JSON_BYTES = 64 * 2**20


class HubError(ValueError):
    """A Hub request that failed, as one line naming the repository and what to do."""


def is_repo_id(text: str) -> bool:
    """True for ``org/name`` (optionally ``@revision``) that could be a Hub
    repository."""
    repo, _, rev = text.partition("@")
    return (
        bool(_REPO.match(repo))
        and ".." not in repo
        and (not rev or bool(_REVISION.match(rev)))
    )


@dataclass(frozen=True)
class Settings:
    """Where and how to reach the Hub, read from the environment once per call."""

    endpoint: str
    token: str | None
    offline: bool
    cache: Path
    timeout: float

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        endpoint = (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        if not endpoint.startswith(("http://", "https://")):
            raise HubError(f"HF_ENDPOINT must be an http(s) URL, got {endpoint!r}")
        offline = env.get("HF_HUB_OFFLINE", "").strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
        )
        if env.get("VRAMLIB_CACHE"):
            cache = Path(env["VRAMLIB_CACHE"])
        else:
            base = env.get("XDG_CACHE_HOME") or os.path.join(
                os.path.expanduser("~"), ".cache"
            )
            cache = Path(base) / "vramlib" / "hub"
        try:
            timeout = float(env.get("VRAMLIB_HUB_TIMEOUT", "10"))
        except ValueError:
            raise HubError(
                f"VRAMLIB_HUB_TIMEOUT must be a number of seconds, got "
                f"{env.get('VRAMLIB_HUB_TIMEOUT')!r}"
            ) from None
        token = env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or None
        return cls(endpoint, token, offline, cache, timeout)

    def folder(self, repo: str, revision: str) -> Path:
        host = hashlib.sha256(self.endpoint.encode()).hexdigest()[:12]
        return (
            self.cache
            / host
            / repo.replace("/", "--")
            / urllib.parse.quote(revision, "")
        )


class _KeepAuthOnSameHost(urllib.request.HTTPRedirectHandler):
    """Follow redirects (urllib's 301/302/303/307/308), dropping the token when the
    target
    is another host (the Hub redirects large files to a CDN)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if (
            new is not None
            and urllib.parse.urlsplit(newurl).netloc
            != urllib.parse.urlsplit(req.full_url).netloc
        ):
            new.remove_header("Authorization")
        return new


def _open(
    s: Settings,
    url: str,
    what: str,
    repo: str,
    byte_range: tuple[int, int] | None = None,
):
    req = urllib.request.Request(url, headers={"User-Agent": "vramlib"})
    if s.token:
        req.add_header("Authorization", f"Bearer {s.token}")
    if byte_range is not None:
        req.add_header("Range", f"bytes={byte_range[0]}-{byte_range[1]}")
    opener = urllib.request.build_opener(_KeepAuthOnSameHost())
    try:
        return opener.open(req, timeout=s.timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code in (401, 403):
            hint = (
                "set HF_TOKEN to a token with access"
                if not s.token
                else "the token in HF_TOKEN has no access; accept the model's terms "
                "on its page"
            )
            raise HubError(
                f"Hub repository {repo!r} is gated or private (HTTP {err.code} for "
                f"{what}): {hint}"
            ) from None
        if err.code == 404:
            raise HubError(
                f"Hub repository {repo!r} has no {what} (HTTP 404 at {url}): check "
                f"the id and the revision"
            ) from None
        raise HubError(
            f"Hub request for {what} of {repo!r} failed: HTTP {err.code} {err.reason}"
        ) from None
    except (socket.timeout, TimeoutError):
        raise HubError(
            f"Hub request for {what} of {repo!r} timed out after {s.timeout:g} s "
            f"({s.endpoint}); set VRAMLIB_HUB_TIMEOUT to wait longer"
        ) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, (socket.timeout, TimeoutError)):
            raise HubError(
                f"Hub request for {what} of {repo!r} timed out after "
                f"{s.timeout:g} s ({s.endpoint})"
            ) from None
        raise HubError(
            f"cannot reach the Hub at {s.endpoint} for {repo!r}: {err.reason}; "
            f"set HF_HUB_OFFLINE=1 to use the cache only"
        ) from None


def _url(s: Settings, repo: str, revision: str, name: str) -> str:
    return (
        f"{s.endpoint}/{repo}/resolve/{urllib.parse.quote(revision, safe='')}/"
        f"{urllib.parse.quote(name)}"
    )


class Repo:
    """One repository at one revision: small files and safetensors headers, cached."""

    def __init__(
        self, repo: str, revision: str = "main", settings: Settings | None = None
    ):
        if not is_repo_id(repo):
            raise HubError(f"{repo!r} is not a Hub repository id (org/name)")
        if not _REVISION.match(revision) or ".." in revision:
            raise HubError(f"revision {revision!r} is not a branch, tag or commit name")
        self.repo, self.revision = repo, revision
        self.s = settings or Settings.from_env()
        self.folder = self.s.folder(repo, revision)

    def _cached(self, name: str) -> Path:
        return self.folder / name

    def _store(self, name: str, data: bytes) -> None:
        path = self._cached(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache is not an error: the answer is still right

    def _missing_offline(self, what: str) -> HubError:
        return HubError(
            f"offline (HF_HUB_OFFLINE is set) and {what} of {self.repo!r} "
            f"(revision {self.revision}) is not in the cache at {self.folder}"
        )

    def text(self, name: str, *, optional: bool = False) -> str | None:
        """A small file's text, from the cache or the Hub; ``None`` if ``optional`` and
        404."""
        cached = self._cached(name)
        if cached.is_file():
            return cached.read_text(encoding="utf-8")
        absent = self._cached(name + ".absent")
        if optional and absent.is_file():
            return None
        if self.s.offline:
            if optional:
                return None
            raise self._missing_offline(name)
        try:
            with _open(
                self.s, _url(self.s, self.repo, self.revision, name), name, self.repo
            ) as resp:
                data = resp.read(MAX_JSON_BYTES + 1)
        except HubError as err:
            if optional and "HTTP 404" in str(err):
                self._store(name + ".absent", b"")
                return None
            raise
        if len(data) > MAX_JSON_BYTES:
            raise HubError(
                f"{name} of {self.repo!r} is larger than {MAX_JSON_BYTES:,} bytes"
            )
        self._store(name, data)
        return data.decode("utf-8")

    def json(self, name: str, *, optional: bool = False) -> dict | None:
        text = self.text(name, optional=optional)
        if text is None:
            return None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise HubError(
                f"{name} of {self.repo!r} is not valid JSON ({err.msg})"
            ) from None
        if not isinstance(doc, dict):
            raise HubError(f"{name} of {self.repo!r} is not a JSON object")
        return doc

    def _range(self, name: str, start: int, end: int) -> bytes:
        """Bytes start..end (inclusive) of a file, by a range request; a server that
        ignores the range and sends the whole file is read only that far."""
        with _open(
            self.s,
            _url(self.s, self.repo, self.revision, name),
            name,
            self.repo,
            (start, end),
        ) as resp:
            if resp.status == 206:
                data = resp.read(end - start + 1)
            else:
                data = resp.read(end + 1)[start:]
        if len(data) != end - start + 1:
            raise HubError(f"{name} of {self.repo!r} ended before byte {end:,}")
        return data

    def safetensors_header(self, name: str) -> st.Header:
        """One shard's header, by two range requests (cached as its JSON)."""
        cached = self._cached(name + ".header.json")
        if cached.is_file():
            return st.parse_header(cached.read_bytes(), f"{self.repo}/{name}")
        if self.s.offline:
            raise self._missing_offline(f"the header of {name}")
        n = st.header_length(self._range(name, 0, 7), f"{self.repo}/{name}")
        raw = self._range(name, 8, 8 + n - 1)
        header = st.parse_header(raw, f"{self.repo}/{name}")
        self._store(name + ".header.json", raw)
        return header


@dataclass(frozen=True)
class HubCheckpoint:
    """What the Hub says about a repository: its config, and the tensors when published
    as safetensors (``None`` otherwise), with the index's ``total_size``."""

    repo: str
    revision: str
    config: dict
    tensors: st.Header | None
    index_total_size: int | None
    url: str


def fetch(repo: str, revision: str = "main", *, headers: bool = True) -> HubCheckpoint:
    """config.json, then model.safetensors.index.json (or model.safetensors) and every
    shard's header (``headers=False`` skips the headers and keeps the index's total)."""
    r = Repo(repo, revision)
    config = r.json("config.json")
    index = r.json("model.safetensors.index.json", optional=True)
    total = None
    shards: list[str] = []
    if index is not None:
        try:
            wmap, total = st.read_index(index)
        except ValueError as err:
            raise HubError(f"{repo}: {err}") from None
        shards = sorted(set(wmap.values()))
        if len(shards) > MAX_SHARDS:
            raise HubError(
                f"{repo}: index names {len(shards):,} shards (more than {MAX_SHARDS:,})"
            )
    tensors = None
    if headers:
        if index is None:
            try:
                tensors = r.safetensors_header("model.safetensors")
            except HubError as err:
                if "HTTP 404" not in str(err) and "not in the cache" not in str(err):
                    raise
        else:
            tensors = st.merge(r.safetensors_header(s) for s in shards)
    return HubCheckpoint(
        repo, revision, config, tensors, total, f"{r.s.endpoint}/{repo}/tree/{revision}"
    )
