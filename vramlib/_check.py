"""Argument checks shared by every public function.

Each check names the argument it rejects and says what would have been accepted, so that a
mistake in a notebook, a script or the command line reads as a sentence, not a traceback hunt.
"""
from __future__ import annotations

import difflib
import json
import math
import re
from numbers import Integral, Real
from typing import Iterable

#: the largest whole number any argument may be (a million times the bytes of today's
#: largest
#: clusters); products of a few such numbers stay exact Python integers that print
#: quickly
MAX_INTEGER = 10**18
#: at most this many characters of a rejected value are echoed in a message
SHOWN_CHARS = 200
#: JSON configs: the most bytes read, and the deepest nesting of objects and arrays
#: accepted
#: (a Hugging Face config.json is a few kB, nested three or four levels)
MAX_JSON_BYTES = 8 * 2**20
MAX_JSON_DEPTH = 64


def _kind(value: object) -> str:
    return type(value).__name__


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters.

    Never raises: an integer too long to print in full is described by its number of
    digits, and an object whose ``repr`` fails is described by its type.
    """
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value.bit_length() > 3 * limit
    ):
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits:,} digits"
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not replace the real error
        return f"a {_kind(value)}"
    if len(text) > limit:
        text = text[: limit - 1] + "…" + f" ({len(text):,} characters)"
    return text


def integer(
    name: str, value: object, *, minimum: int = 1, maximum: int = MAX_INTEGER
) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``,
    else raise.

    Booleans are refused (``True`` is an ``int`` in Python but never a token count); floats that
    are whole numbers (``4096.0``) are accepted, since JSON and widgets often produce them.
    ``maximum`` defaults to :data:`MAX_INTEGER`, so that no count can make the
    arithmetic (exact integers) or its printing run away.
    """
    bound = f"an integer >= {minimum:,}"
    if maximum != MAX_INTEGER:
        bound += f" and <= {maximum:,}"
    if isinstance(value, bool):
        raise TypeError(f"{name} must be {bound}, got a bool ({value!r})")
    if isinstance(value, Integral):
        result = int(value)
    elif isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
        result = int(value)
    elif isinstance(value, Real):
        raise ValueError(f"{name} must be {bound}, got {shown(value)}")
    else:
        raise TypeError(f"{name} must be {bound}, got {_kind(value)} {shown(value)}")
    if result < minimum:
        raise ValueError(f"{name} must be {bound}, got {shown(result)}")
    if result > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}, got {shown(result)}")
    return result


def number(name: str, value: object, *, minimum: float = 0.0, inclusive: bool = False,
           maximum: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` above ``minimum`` (and at most
    ``maximum``), else raise.

    A number too large for a float (``10**400``) is refused with a ``ValueError``, not
    an ``OverflowError``.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {_kind(value)} {shown(value)}")
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
    if maximum is not None:
        bound += f" and <= {maximum:g}"
    try:
        result = float(value)
    except (OverflowError, ValueError):
        raise ValueError(
            f"{name} must be a finite number {bound}, got {shown(value)}, "
            f"too large for a float"
        ) from None
    if not math.isfinite(result):
        raise ValueError(f"{name} must be a finite number {bound}, got {shown(value)}")
    too_small = result < minimum if inclusive else result <= minimum
    if too_small or (maximum is not None and result > maximum):
        raise ValueError(f"{name} must be a number {bound}, got {shown(value)}")
    return result


def flag(name: str, value: object) -> bool:
    """Return ``value`` if it is ``True`` or ``False``; anything else (``"no"``, ``0``)
    raises."""
    if not isinstance(value, bool):
        raise TypeError(
            f"{name} must be True or False, got {_kind(value)} {shown(value)}"
        )
    return value


def sequence(name: str, value: object, what: str) -> list:
    """``value`` as a list if it is a list, tuple or other non-string iterable, else
    raise.

    A string is refused: iterating ``"16"`` would give ``"1"`` and ``"6"``, two items
    nobody meant. ``what`` says what the items are, for the message.
    """
    if isinstance(value, (str, bytes)) or isinstance(value, dict):
        raise TypeError(
            f"{name} must be a list of {what}, got {_kind(value)} {shown(value)}; "
            f"wrap a single one in a list: [{shown(value)}]"
        )
    try:
        return list(value)
    except TypeError:
        raise TypeError(
            f"{name} must be a list of {what}, got {_kind(value)} {shown(value)}"
        ) from None


def json_depth(text: str) -> int:
    """The deepest nesting of objects and arrays in JSON ``text`` (brackets inside
    strings do not count). Linear in the text; used to refuse nesting that would exhaust
    the parser's recursion."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", text)
    depth = deepest = 0
    for ch in re.findall(r"[\[\]{}]", bare):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def json_text(text: str, where: str) -> object:
    """Parse JSON ``text`` (a config), refusing what is too large or too deep with a
    ValueError that names ``where``. A UTF-8 byte-order mark at the start is ignored."""
    if len(text) > MAX_JSON_BYTES:
        raise ValueError(
            f"{where} is {len(text):,} characters; a config.json is a few kB "
            f"(limit here: {MAX_JSON_BYTES:,})"
        )
    text = text.removeprefix("\ufeff")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ValueError(
            f"{where} is nested too deeply (objects and arrays more than "
            f"{MAX_JSON_DEPTH} levels; a config.json has a few)"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{where} is not valid JSON (line {err.lineno}, column {err.colno}: "
            f"{err.msg})"
        ) from None
    except ValueError:  # an over-long integer literal (Python's 4,300-digit limit)
        raise ValueError(
            f"{where} holds a number too long to read (more than 4,300 digits); "
            f"no config size is that large"
        ) from None
    except (
        RecursionError
    ):  # pragma: no cover - json_depth keeps the depth far below the limit
        raise ValueError(f"{where} is nested too deeply to read") from None


def json_like(name: str, value: object, *, depth: int = MAX_JSON_DEPTH) -> None:
    """Raise unless ``value`` is plain JSON data (dicts with string keys, lists,
    strings, numbers, booleans, None) nested at most ``depth`` levels; a dict that
    contains itself is too deep."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if level > depth:
                raise ValueError(
                    f"{name} nests dicts and lists more than {depth} deep (or contains "
                    f"itself); a config is a few levels deep"
                )
            if isinstance(item, dict):
                bad = next((k for k in item if not isinstance(k, str)), None)
                if bad is not None:
                    raise TypeError(
                        f"{name}: keys must be strings, got {_kind(bad)} {shown(bad)}"
                    )
                stack.extend((v, level + 1) for v in item.values())
            else:
                stack.extend((v, level + 1) for v in item)
        elif not (item is None or isinstance(item, (str, bool, int, float))):
            raise TypeError(
                f"{name} must hold plain JSON data (dicts, lists, strings, numbers, "
                f"booleans, None), got a {_kind(item)}"
            )


def normalise(name: str) -> str:
    """Lower-case a name and drop separators, so ``"BF-16"``, ``"bf_16"`` and ``"bf16"`` agree."""
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch == ".")


def suggestions(value: str, known: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """The closest known names to ``value`` (case- and separator-insensitive)."""
    known = list(known)
    by_key: dict[str, str] = {}
    for k in known:
        by_key.setdefault(normalise(k), k)
    close = difflib.get_close_matches(normalise(value), list(by_key), n=n, cutoff=cutoff)
    return [by_key[c] for c in close]


def unknown(argument: str, value: object, known: Iterable[str], *, what: str = "name",
            show: int = 12) -> ValueError:
    """Build the error for a name that is not in ``known``: the suggestions, then what is accepted."""
    known = sorted({str(k) for k in known}, key=str.lower)
    close = suggestions(value[:SHOWN_CHARS], known) if isinstance(value, str) else []
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listed = ", ".join(known[:show]) + (f", … ({len(known)} in all)" if len(known) > show else "")
    return ValueError(
        f"unknown {what} {shown(value)} for {argument}.{hint} Accepted: {listed}"
    )


def catalogue_data(data: object, name: str = "data") -> dict:
    """Return ``data`` if it is a model catalogue in ``models.json``'s shape, else raise
    naming what is wrong: ``{"models": [{"id": str, "config": {...}, "aliases": [str,
    ...]?},
    ...]}``.

    For private catalogues passed as ``data=`` to :func:`vramlib.models.get_model` and
    its siblings, so that a malformed one is a ``TypeError``/``ValueError``, not a
    ``KeyError``."""
    if not isinstance(data, dict):
        raise TypeError(
            f"{name} must be a catalogue dict {{'models': [...]}}, got "
            f"{_kind(data)} {shown(data)}"
        )
    models = data.get("models")
    if not isinstance(models, list):
        got = shown(models) if "models" in data else "no 'models' key"
        raise ValueError(f"{name} must have a 'models' list, got {got}")
    seen: set[str] = set()
    for i, entry in enumerate(models):
        where = f"{name}['models'][{i}]"
        if not isinstance(entry, dict):
            raise TypeError(
                f"{where} must be a dict with 'id' and 'config', got {_kind(entry)} "
                f"{shown(entry)}"
            )
        model_id = entry.get("id")
        if not isinstance(model_id, str) or not model_id.strip():
            raise ValueError(
                f"{where} must have an 'id' string (a repository id), got "
                f"{shown(model_id)}"
            )
        if model_id in seen:
            raise ValueError(f"{where}: id {shown(model_id)} appears twice")
        seen.add(model_id)
        if not isinstance(entry.get("config"), dict):
            raise ValueError(
                f"{where} ({model_id}) must have a 'config' dict, got "
                f"{shown(entry.get('config'))}"
            )
        json_like(f"{where}['config']", entry["config"])
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(
            isinstance(a, str) and a.strip() for a in aliases
        ):
            raise ValueError(
                f"{where} ({model_id}): 'aliases' must be a list of strings, got "
                f"{shown(aliases)}"
            )
    return data


def renamed(err: Exception, old: str, new: str) -> Exception:
    """``err`` (a ValueError or TypeError) with the argument ``old`` called ``new`` in
    its message: for a library function that calls another, so that the message names
    the caller's argument. Only the argument's places in the messages built here are
    changed: a leading ``old`` and ``for old.``"""
    message = str(err)
    pattern = rf"^{re.escape(old)}\b|(?<= for ){re.escape(old)}(?=[.:,])"
    return type(err)(re.sub(pattern, new, message, count=1))


def text(name: str, value: object) -> str:
    """Return ``value`` if it is a non-empty string, else raise naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_kind(value)} {shown(value)}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value
