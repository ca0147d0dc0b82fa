"""Each page's typed context against its templates (Datasette's habit).

A page's templates (its own, what it extends, includes and imports, its fragment) may use only
the fields of its context, the names every page gets and the environment's globals; and every
field is used somewhere. Renaming a field on either side, or adding one the template ignores,
fails here instead of rendering an empty string.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from jinja2 import meta, nodes

import veil.web.views  # noqa: F401  (imports every page's module)
from veil.web.templating import BASE_NAMES, TEMPLATES_DIR, Page, templates

ENV = templates.env


def _page_types() -> list[type[Page]]:
    found: list[type[Page]] = []
    stack = list(Page.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if hasattr(cls, "template"):  # ComplianceTab and such only share fields
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def _parse(name: str) -> nodes.Template:
    source, _filename, _uptodate = ENV.loader.get_source(ENV, name)  # type: ignore[union-attr]
    return ENV.parse(source)


def _with_references(names: Iterable[str]) -> tuple[list[str], bool]:
    """The templates and every template they extend, include or import; and whether one of
    them includes a template by a name held in a variable."""
    seen: list[str] = []
    dynamic = False
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        for referenced in meta.find_referenced_templates(_parse(name)):
            if referenced is None:
                dynamic = True
            else:
                todo.append(referenced)
    return seen, dynamic


def _bound_in(ast: nodes.Template) -> set[str]:
    """Names a template binds itself (macros, imports, `set`), which the analysis of blocks
    and included templates reports as undeclared."""
    bound = {macro.name for macro in ast.find_all(nodes.Macro)}
    for imported in ast.find_all(nodes.FromImport):
        bound.update(n if isinstance(n, str) else n[1] for n in imported.names)
    bound.update(imported.target for imported in ast.find_all(nodes.Import))
    for assign in (*ast.find_all(nodes.Assign), *ast.find_all(nodes.AssignBlock)):
        targets = [assign.target, *assign.target.find_all(nodes.Name)]
        bound.update(target.name for target in targets if isinstance(target, nodes.Name))
    return bound


def names_used(names: Iterable[str]) -> set[str]:
    asts = [_parse(name) for name in names]
    used = set().union(*(meta.find_undeclared_variables(ast) for ast in asts))
    return used - set().union(*(_bound_in(ast) for ast in asts))


def contract_problems(page_templates: list[str], field_names: set[str]) -> list[str]:
    used = names_used(page_templates)
    allowed = field_names | BASE_NAMES | set(ENV.globals)
    return [f"the template uses `{name}`, not in the context" for name in sorted(used - allowed)]


def unused_fields(page_templates: list[str], field_names: set[str]) -> set[str]:
    return field_names - names_used(page_templates)


def _templates_of(page: type[Page]) -> list[str]:
    own = [page.template, *page.partials]
    if page.fragment_template is not None:
        own.append(page.fragment_template)
    names, dynamic = _with_references(own)
    assert not dynamic or page.partials, (
        f"{page.__name__}: a template includes by variable; list what it includes in `partials`"
    )
    return names


def _fields(page: type[Page]) -> set[str]:
    return page.variable_names()


PAGES = _page_types()


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.__name__)
def test_templates_use_only_the_context_and_all_of_it(page: type[Page]) -> None:
    names = _templates_of(page)
    assert contract_problems(names, _fields(page)) == []
    assert unused_fields(names, _fields(page)) == set()


def test_every_page_template_has_a_typed_context() -> None:
    paged = {page.template for page in PAGES}
    included = {name for page in PAGES for name in _templates_of(page)}
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        name = path.relative_to(TEMPLATES_DIR).as_posix()
        if name in paged or Path(name).name.startswith("_"):
            continue
        assert name in included, f"{name} is rendered by no page"
    assert {"login.html", "error.html", "profiles/show.html", "settings/workspace.html"} <= paged


def test_a_renamed_field_is_caught() -> None:
    """The checks above can fail: the login page with `next` renamed to `next_url`."""
    names = _templates_of(next(page for page in PAGES if page.template == "login.html"))
    renamed = {"next_url", "error", "login_csrf", "email"}
    assert contract_problems(names, renamed) == ["the template uses `next`, not in the context"]
    assert unused_fields(names, renamed) == {"next_url"}
