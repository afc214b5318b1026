"""No panel view, handler or CLI command writes a row: they call the actions layer.

Every state change goes through a function of the actions layer (`bot/actions.py`,
`bot/tips/`, `bot/campaigns/actions.py`, `content/actions.py`, `bot/staff/`), which also
writes its audit entry (docs/architecture.md, "A state change"). This test reads the source
of `admin/`, `handlers/`, `bot/cli.py` and `bot/demo.py` (the ast, nothing is run) and fails
on anything there that writes:

* `session.add(…)`, `.add_all`, `.delete`, `.merge` on an object named `session`, `s` or
  `db_session` (also as an attribute: `ctx.session.add`); a set's or a chart's `add` is not
  a session's and passes;
* `….execute(insert(…))`, `update(…)`, `delete(…)` (also `Model.__table__.delete()`, a
  dialect's `insert`, and raw SQL in `text("UPDATE …")`), however long the chain after it;
* `audit(…)` from `bot.audit`: an audit entry is written by the action it records;
* an assignment (`=`, `+=`, a tuple target) to `x.name` where `name` is a column of a table
  model (`bot.models`), unless `x` is known not to be a row: `self` or `cls`; a name
  annotated with types none of which is a table model (`data: ItemForm`, `ctx: Context`);
  a name bound to a constructor call of a class that is not a table model (`f = cls()`,
  `form = CampaignForm(…)`) or to a call of a function of the same module annotated to
  return no row (`draft = _load(…)` with `-> Draft`), or unpacked from such a value
  (`cipher, draft = opened`). Anything else — a row from `session.get`, a parameter
  annotated as a row, `ctx.resident`, an unannotated parameter — counts as a row. What a
  name is bound to anywhere in a function counts for the whole function (a name is one
  thing in a function); a form that looks like a row to this rule says what it is with an
  annotation.

`RULE_EXAMPLES` shows each case, and which lines the rule flags.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import bot.models

ROOT = Path(__file__).resolve().parent.parent
CHECKED = [
    *sorted((ROOT / "admin").rglob("*.py")),
    *sorted((ROOT / "handlers").rglob("*.py")),
    ROOT / "bot" / "cli.py",
    ROOT / "bot" / "demo.py",
]
SESSION_NAMES = frozenset({"session", "s", "db_session"})
SESSION_WRITES = frozenset({"add", "add_all", "delete", "merge"})
DML = frozenset({"insert", "update", "delete"})
RAW_DML = re.compile(r"\s*(insert|update|delete|replace|merge)\b", re.IGNORECASE)


def _table_models() -> dict[str, set[str]]:
    """Each table model's class name and its column names."""
    return {
        name: {c.name for c in value.__table__.columns}
        for name, value in vars(bot.models).items()
        if isinstance(value, type) and issubclass(value, SQLModel) and hasattr(value, "__table__")
    }


TABLES = _table_models()
COLUMNS = frozenset().union(*TABLES.values())


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where}:{self.line}: {self.what}"


def _name_of(node: ast.expr) -> str | None:
    """`session` for `session`, `ctx.session` and `self.session`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _chain_calls(node: ast.expr) -> Iterator[ast.Call]:
    """The calls of a chain: `values(…)`, `where(…)`, `update(X)` in
    `update(X).where(…).values(…)`."""
    while isinstance(node, (ast.Call, ast.Attribute)):
        if isinstance(node, ast.Call):
            yield node
            node = node.func
        else:
            node = node.value


def _is_dml(arg: ast.expr) -> str | None:
    for call in _chain_calls(arg):
        func = call.func
        if isinstance(func, ast.Name) and func.id in DML:
            return func.id
        if isinstance(func, ast.Attribute) and func.attr in DML:
            return func.attr  # `Model.__table__.delete()`, `sqlite.insert(…)`
        if (
            isinstance(func, ast.Name)
            and func.id == "text"
            and call.args
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
            and RAW_DML.match(call.args[0].value)
        ):
            return "raw SQL"
    return None


def _annotation_names(node: ast.expr | None) -> set[str]:
    """The class names an annotation mentions (`A | None`, `list[A]`, `"A"`, `m.A`)."""
    if node is None:
        return set()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _annotation_names(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return set()
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
    return names


def _not_a_row_annotation(node: ast.expr | None) -> bool:
    names = _annotation_names(node)
    return bool(names) and not names & TABLES.keys()


def _not_a_row_value(value: ast.expr, builders: frozenset[str]) -> bool:
    """`cls()`, `cls.parse(…)`, `SomeForm(…)`, a call of a function of the module annotated
    to return no row (`builders`), or a choice of two of these: something that is no row."""
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.IfExp):
        return _not_a_row_value(value.body, builders) and _not_a_row_value(value.orelse, builders)
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Name):
        if func.id == "cls" or func.id in builders:
            return True
        return func.id[:1].isupper() and func.id not in TABLES
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id == "cls"
    return False


class _Scope:
    """The names of one function (or the module) known not to be rows."""

    def __init__(self, node: ast.AST, builders: frozenset[str]) -> None:
        self.not_rows = {"self", "cls"}
        args = getattr(node, "args", None)
        if isinstance(args, ast.arguments):
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                if _not_a_row_annotation(arg.annotation):
                    self.not_rows.add(arg.arg)
        for sub in _own_nodes(node):
            if isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
                if _not_a_row_annotation(sub.annotation):
                    self.not_rows.add(sub.target.id)
            elif isinstance(sub, ast.Assign) and (
                _not_a_row_value(sub.value, builders)
                or (isinstance(sub.value, ast.Name) and sub.value.id in self.not_rows)
            ):
                # `cipher, draft = opened`: no part of something that is no row is one
                self.not_rows.update(
                    t.id
                    for target in sub.targets
                    for t in _targets(target)
                    if isinstance(t, ast.Name)
                )


def _builders(tree: ast.Module) -> frozenset[str]:
    """The module's functions annotated to return something that is no row."""
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and _not_a_row_annotation(node.returns)
    )


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's (or the module's) body, not those of functions inside it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield child
        yield from _own_nodes(child)


def _targets(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            yield from _targets(element)
    elif isinstance(node, ast.Starred):
        yield from _targets(node.value)
    else:
        yield node


def _audit_names(tree: ast.Module) -> set[str]:
    """The local names `bot.audit.audit` is imported as."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "bot.audit"
        for alias in node.names
        if alias.name == "audit"
    }


def _function_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    yield tree
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield node


def writes(path: Path) -> list[Violation]:
    """Every write in the module at `path` (see the module's docstring)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    audits = _audit_names(tree)
    builders = _builders(tree)
    found: list[Violation] = []

    def flag(node: ast.AST, what: str) -> None:
        found.append(Violation(path, getattr(node, "lineno", 0), what))

    for function in _function_nodes(tree):
        scope = _Scope(function, builders)
        for node in _own_nodes(function):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute):
                    owner = _name_of(func.value)
                    if func.attr in SESSION_WRITES and owner in SESSION_NAMES:
                        flag(node, f"{owner}.{func.attr}(…)")
                    if func.attr == "execute" and node.args:
                        dml = _is_dml(node.args[0])
                        if dml:
                            flag(node, f"execute({dml} …)")
                elif isinstance(func, ast.Name) and func.id in audits:
                    flag(node, "audit(…): the action writes its audit entry")
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = [t for target in node.targets for t in _targets(target)]
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                if not (isinstance(target, ast.Attribute) and target.attr in COLUMNS):
                    continue
                owner_node = target.value
                if isinstance(owner_node, ast.Name) and owner_node.id in scope.not_rows:
                    continue
                flag(target, f"{ast.unparse(target)} = …: a row's column")
    return sorted(found, key=lambda v: (str(v.path), v.line))


RULE_EXAMPLES = """
from bot.audit import audit
from sqlalchemy import delete, text, update

def _opened(ctx: Context) -> tuple[Cipher, Draft] | None: ...

async def view(request, session, ctx, staff, data: Form, user: StaffUser):
    session.add(row)  # write
    ctx.session.delete(row)  # write
    s.merge(row)  # write
    await session.execute(update(StaffUser).where(x).values(active=False))  # write
    await session.execute(delete(StaffSession))  # write
    await session.execute(StaffSession.__table__.delete().where(x))  # write
    await session.execute(text("UPDATE staff_user SET active = false"))  # write
    audit(session, staff.user, "x")  # write
    row = await session.get(Tip, 1)
    row.status = "closed"  # write
    user.failed_logins += 1  # write
    ctx.resident.language = "en"  # write
    a.chat_id, row.updated_at = "1", now  # write
    data.id = "a form"
    self_made = Filters()
    self_made.status = "not a row"
    names.add("a set")
    chart.add("a chart", [1])
    await session.execute(select(Tip))
    opened = _opened(ctx)
    cipher, draft = opened
    draft.description = "a draft the module says is no row"

    def inner():
        f = cls()
        f.category = "not a row"
        row.category = "a row"  # write
"""


def test_the_rule_sees_every_kind_of_write(tmp_path: Path) -> None:
    source = tmp_path / "view.py"
    source.write_text(RULE_EXAMPLES)
    lines = RULE_EXAMPLES.splitlines()
    expected = {n for n, line in enumerate(lines, start=1) if line.endswith("# write")}
    found = writes(source)
    assert {v.line for v in found} == expected, found


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_writes_outside_the_actions_layer(path: Path) -> None:
    found = writes(path)
    assert not found, "write rows through an action instead:\n" + "\n".join(map(str, found))
