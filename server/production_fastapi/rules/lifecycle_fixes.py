"""libcst fixes for area 1 (lifecycle). Imported only when a fix is applied."""

from __future__ import annotations

import libcst as cst

from production_fastapi.rules.fixes import FixTransformer

__all__ = ["OnEventToLifespan"]

_EVENTS = ("startup", "shutdown")


def _event_of(statement: cst.CSTNode) -> tuple[str, str] | None:
    """(receiver, event) for a module-level ``@R.on_event("startup"|"shutdown")`` function."""
    if not isinstance(statement, cst.FunctionDef) or len(statement.decorators) != 1:
        return None
    call = statement.decorators[0].decorator
    if not (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "on_event"
        and isinstance(call.func.value, cst.Name)
        and len(call.args) == 1
        and isinstance(call.args[0].value, cst.SimpleString)
    ):
        return None
    event = call.args[0].value.evaluated_value
    return (call.func.value.value, str(event)) if event in _EVENTS else None


def _body_statements(function: cst.FunctionDef) -> list[cst.BaseStatement]:
    """The handler's statements, without a leading docstring (it described the handler, not the lifespan)."""
    body = function.body
    statements: list[cst.BaseStatement] = (
        list(body.body) if isinstance(body, cst.IndentedBlock) else [cst.SimpleStatementLine([*body.body])]
    )
    first = statements[0] if statements else None
    if (
        isinstance(first, cst.SimpleStatementLine)
        and len(first.body) == 1
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        statements = statements[1:]
    return statements


def _with_lifespan_argument(call: cst.Call) -> cst.Call:
    new = cst.Arg(keyword=cst.Name("lifespan"), value=cst.Name("lifespan"),
                  equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                        whitespace_after=cst.SimpleWhitespace("")))
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the new argument takes the last line's place
        separator = args[-2].comma if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else cst.Comma(
            whitespace_after=call.whitespace_before_args)
        args[-1] = last.with_changes(comma=separator)
        args.append(new.with_changes(comma=last.comma))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new)
    return call.with_changes(args=args)


class OnEventToLifespan(FixTransformer):
    """Before::

        app = FastAPI()

        @app.on_event("startup")
        async def startup() -> None:
            app.state.http = httpx.AsyncClient()

        @app.on_event("shutdown")
        async def shutdown() -> None:
            await app.state.http.aclose()

    After::

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            app.state.http = httpx.AsyncClient()
            try:
                yield
            finally:
                await app.state.http.aclose()


        app = FastAPI(lifespan=lifespan)

    The rule marks the decorators fixable only for that shape (see ``lifecycle.lifespan_plan``); this transformer
    re-checks it on the concrete tree and leaves the module unchanged when anything differs.
    """

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        handlers: dict[str, cst.FunctionDef] = {}
        receiver: str | None = None
        targeted = False
        for original, statement in zip(original_node.body, updated_node.body, strict=True):
            found = _event_of(statement)
            if found is None:
                continue
            name, event = found
            if event in handlers or (receiver is not None and name != receiver):
                return updated_node
            assert isinstance(statement, cst.FunctionDef)
            receiver, handlers[event] = name, statement
            assert isinstance(original, cst.FunctionDef)
            # libcst starts a decorated def at `def`; the rule reported the decorator's call.
            targeted = targeted or self.is_target(original.decorators[0].decorator)
        if receiver is None or "startup" not in handlers or not targeted:
            return updated_node
        creation = self._creation_index(updated_node, receiver)
        if creation is None:
            return updated_node
        assign_line = updated_node.body[creation]
        assert isinstance(assign_line, cst.SimpleStatementLine)
        assign = assign_line.body[0]
        assert isinstance(assign, cst.Assign)
        assert isinstance(assign.value, cst.Call)
        app_call = assign.value
        annotation = cst.Annotation(app_call.func)

        body = _body_statements(handlers["startup"])
        yield_line = cst.SimpleStatementLine([cst.Expr(cst.Yield())])
        if "shutdown" in handlers:
            shutdown = _body_statements(handlers["shutdown"]) or [cst.SimpleStatementLine([cst.Pass()])]
            body.append(cst.Try(body=cst.IndentedBlock([yield_line]),
                                finalbody=cst.Finally(body=cst.IndentedBlock(shutdown))))
        else:
            body.append(yield_line)
        lifespan = cst.FunctionDef(
            name=cst.Name("lifespan"),
            params=cst.Parameters([cst.Param(cst.Name(receiver), annotation=annotation)]),
            body=cst.IndentedBlock(body),
            decorators=[cst.Decorator(cst.Name("asynccontextmanager"))],
            asynchronous=cst.Asynchronous(),
            returns=cst.Annotation(cst.parse_expression("AsyncIterator[None]")),
            # Comments above the app line stay with it; the new function gets PEP 8's two blank lines.
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )
        new_assign = assign_line.with_changes(
            body=[assign.with_changes(value=_with_lifespan_argument(app_call))],
            leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *[ln for ln in assign_line.leading_lines if ln.comment]],
        )
        removed = {id(h) for h in handlers.values()}
        new_body: list[cst.BaseStatement] = []
        for index, statement in enumerate(updated_node.body):
            if id(statement) in removed:
                continue
            if index == creation:
                new_body.extend([lifespan, new_assign])
            else:
                new_body.append(statement)
        self.add_import("contextlib", "asynccontextmanager")
        self.add_import("collections.abc", "AsyncIterator")
        return updated_node.with_changes(body=new_body)

    @staticmethod
    def _creation_index(module: cst.Module, receiver: str) -> int | None:
        found: list[int] = []
        for index, statement in enumerate(module.body):
            if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
                continue
            small = statement.body[0]
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and small.targets[0].target.value == receiver
                and isinstance(small.value, cst.Call)
            ):
                found.append(index)
        return found[0] if len(found) == 1 else None
