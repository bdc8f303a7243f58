"""`csconnect new`: write a new connector or metric-pack plugin that passes its own tests.

A plugin folder has the shape of the examples in `plugins/`: a pyproject.toml with the
`csconnect` entry point, a module with `plugin.py` and the connector or pack, a README, and
tests built on csconnect.testing. Templates live in `csconnect/templates/<kind>/` as
`string.Template` files (`*.tmpl`); `__module__` in a path becomes the module's name.
"""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from . import __version__
from .connector import CATEGORIES
from .errors import UsageError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

KINDS = ("connector", "pack")
MAX_NAME = 40            # leaves room for `<name>_<metric>` names under the 63-character limit
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SUFFIX = ".tmpl"


def check_name(kind: str, name: str) -> None:
    """Raise a one-line UsageError unless `name` can name a plugin of this kind."""
    if kind not in KINDS:
        raise UsageError(f"cannot scaffold a {kind!r}; choose one of: {', '.join(KINDS)}")
    hint = ""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name or "") and name != name.lower().replace("-", "_"):
        hint = f" (try {name.lower().replace('-', '_')!r})"
    if not NAME.match(name or "") or name.endswith("_") or "__" in name:
        raise UsageError(f"{kind} name {name!r} must be a lower-case identifier: letters, digits and single "
                         f"underscores, starting with a letter{hint}")
    if len(name) > MAX_NAME:
        raise UsageError(f"{kind} name {name!r} is {len(name)} characters long; keep it to {MAX_NAME}")
    if kind == "pack" and name.startswith("pack_"):
        raise UsageError(f"pack name {name!r} need not start with 'pack_' (the distribution is already "
                         f"csconnect-pack-{name[5:].replace('_', '-')}); try {name[5:]!r}")


def core_requirement(version: str = __version__) -> str:
    """The csconnect version range a new plugin depends on: this minor before 1.0, this major after."""
    major, minor = (int(p) for p in re.findall(r"\d+", version)[:2])
    if major == 0:
        return f">={major}.{minor},<{major}.{minor + 1}"
    return f">={major}.{minor},<{major + 1}"


def template_values(kind: str, name: str, category: str = "crm") -> dict[str, str]:
    """Every name a template may use ($name, $dist, $module, $cls, $title, …)."""
    words = name.split("_")
    cls = "".join(w.title() for w in words) + ("Connector" if kind == "connector" else "Pack")
    dist_name = name.replace("_", "-")
    return {
        "name": name,
        "dist": f"csconnect-{dist_name}" if kind == "connector" else f"csconnect-pack-{dist_name}",
        "module": f"csconnect_{name}" if kind == "connector" else f"csconnect_pack_{name}",
        "cls": cls,
        "title": " ".join(w.title() for w in words),
        "category": category,
        "host": dist_name,
        "env": f"{name.upper()}_API_KEY",
        "core_requirement": core_requirement(),
    }


def _walk(node: Traversable, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Traversable]]:
    out = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            out += _walk(child, prefix + (child.name,))
        elif child.name.endswith(SUFFIX):
            out.append((prefix + (child.name[: -len(SUFFIX)],), child))
    return out


def render(kind: str, values: dict[str, str]) -> dict[str, str]:
    """The files of a new plugin, relative path -> text."""
    root = resources.files("csconnect").joinpath("templates", kind)
    files = {}
    for parts, source in _walk(root):
        path = "/".join(p.replace("__module__", values["module"]) for p in parts)
        try:
            files[path] = Template(source.read_text(encoding="utf-8")).substitute(values)
        except (KeyError, ValueError) as exc:   # a broken template is a bug in csconnect, say where
            raise RuntimeError(f"template {kind}/{'/'.join(parts)}{SUFFIX}: {exc!r}") from None
    if not files:
        raise RuntimeError(f"no templates for {kind!r}: csconnect/templates/{kind} is missing from the install")
    return files


def scaffold(kind: str, name: str, target: str | Path = ".", *, category: str = "crm") -> Path:
    """Write a new plugin folder (`csconnect-<name>` or `csconnect-pack-<name>`) under `target`; return it."""
    check_name(kind, name)
    if kind == "connector" and category not in CATEGORIES:
        raise UsageError(f"category {category!r} is not one of: {', '.join(CATEGORIES)}")
    values = template_values(kind, name, category)
    folder = Path(target).expanduser() / values["dist"]
    if folder.exists():
        raise UsageError(f"{folder} already exists; choose another name or --dir (nothing was overwritten)")
    files = render(kind, values)
    try:
        folder.mkdir(parents=True)
        for rel, text in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {folder}: {exc.strerror or exc}") from None
    return folder
