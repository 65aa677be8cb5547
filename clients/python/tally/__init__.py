"""Tally for Python: a thin, hand-written layer over the generated `tally_client` package.

    from tally import Tally

    tally = Tally("http://127.0.0.1:8080", token)
    answer = tally.ask("What was our DAU last week vs the week before?")
    print(answer.answer)
    for event in tally.chat("and by country?", conversation_id=answer.conversation_id):
        print(event.name, event.data)
    result = tally.query({"kind": "metric", "metrics": ["dau"], "period": {"preset": "last_week"}})

Answers are the generated models (`ChatResponse`, `QueryResponse`, …). Any other status is a
`TallyError` with the HTTP status and the stable error `code` (the document's `ErrorCode`);
a status the document does not list raises the generated client's `UnexpectedStatus`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional, Union

import httpx

from tally_client import AuthenticatedClient
from tally_client.api.catalog import role_catalog, role_schema
from tally_client.api.query import chat as chat_operation
from tally_client.errors import UnexpectedStatus
from tally_client.models import (
    CatalogView,
    ChatRequest,
    ChatResponse,
    CompileResponse,
    ErrorBody,
    ExplainQuery,
    FunnelQuery,
    InvalidQueryBody,
    ListQuery,
    MetricQuery,
    OverviewQuery,
    QueryResponse,
    RetentionQuery,
)
from tally_client.types import UNSET

__all__ = ["Tally", "TallyError", "ChatEvent", "STAGES", "UnexpectedStatus"]

#: The stage events of a streamed chat, in their order, before `answer` and `response`.
STAGES = ("translated", "validated", "executed")


class TallyError(Exception):
    """A failed request: `status` (HTTP; 200 for an `error` event of a stream), `code` (the
    stable `ErrorCode`), `message`, and `body`, the decoded error (`ErrorBody`, or for
    `invalid_query` the `InvalidQueryBody` with its `diagnostics`)."""

    def __init__(self, status: int, code: str, message: str, body: Any = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


@dataclass(frozen=True)
class ChatEvent:
    """One server-sent event of a streamed chat.

    `name` is a stage (`translated`, `validated`, `executed`; data `{"ms": …}`), `answer`
    (data `{"text": …}`) or `response` (data: the `ChatResponse`, parsed into `response`).
    An `error` event is raised as `TallyError` instead.
    """

    name: str
    data: Mapping[str, Any]
    response: Optional[ChatResponse] = field(default=None, compare=False)


#: A DSL document: a dict as in the DSL spec, or one of the generated models of `DslQuery`.
Dsl = Union[
    Mapping[str, Any],
    MetricQuery,
    OverviewQuery,
    ListQuery,
    FunnelQuery,
    ExplainQuery,
    RetentionQuery,
]


class Tally:
    """A client of one Tally server with one bearer token (and, for a token of several
    workspaces, the workspace to ask in)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        workspace: Optional[str] = None,
        timeout: float = 60.0,
    ):
        self.workspace = workspace
        self.client = AuthenticatedClient(
            base_url=base_url.rstrip("/"),
            token=token,
            timeout=httpx.Timeout(timeout),
            raise_on_unexpected_status=True,
        )

    def __enter__(self) -> "Tally":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.get_httpx_client().close()

    def ask(self, question: str, *, conversation_id: Optional[str] = None) -> ChatResponse:
        """`POST /v1/chat`: a question in English; a follow-up with `conversation_id` (the
        `conversation_id` of an earlier answer)."""
        body = ChatRequest(
            question=question,
            conversation_id=conversation_id if conversation_id is not None else UNSET,
            workspace=self.workspace if self.workspace is not None else UNSET,
        )
        r = chat_operation.sync_detailed(client=self.client, body=body)
        if r.status_code == 200 and isinstance(r.parsed, ChatResponse):
            return r.parsed
        raise _error(int(r.status_code), r.parsed, r.content)

    def chat(
        self, question: str, *, conversation_id: Optional[str] = None
    ) -> Iterator[ChatEvent]:
        """`POST /v1/chat` streamed (`Accept: text/event-stream`): yields each stage as it
        ends, then `answer` and the final `response` (`ChatEvent.response` is its
        `ChatResponse`)."""
        body: dict[str, Any] = {"question": question}
        if conversation_id is not None:
            body["conversation_id"] = conversation_id
        if self.workspace is not None:
            body["workspace"] = self.workspace
        http = self.client.get_httpx_client()
        headers = {"Accept": "text/event-stream"}
        with http.stream("POST", "/v1/chat", json=body, headers=headers) as r:
            if r.status_code != 200:
                r.read()
                raise _error_of(r)
            for name, data in _events(r.iter_lines()):
                if name == "error":
                    raise TallyError(200, data["code"], data["message"], ErrorBody.from_dict(data))
                response = ChatResponse.from_dict(data) if name == "response" else None
                yield ChatEvent(name=name, data=data, response=response)

    def query(self, dsl: Dsl) -> QueryResponse:
        """`POST /v1/query`: a DSL document. A refusal is an answer (`outcome` `refused`); an
        invalid document is a `TallyError` `invalid_query` whose body has the diagnostics."""
        r = self._post("/v1/query", self._dsl_body(dsl))
        return QueryResponse.from_dict(r.json())

    def compile(self, dsl: Dsl, dialect: Optional[str] = None) -> CompileResponse:
        """`POST /v1/compile`: the SQL per dialect, for roles that may see SQL; a refused
        document is a `TallyError` `refused` with the response contract as `body`."""
        body = self._dsl_body(dsl)
        if dialect is not None:
            body["dialect"] = dialect
        data = self._post("/v1/compile", body).json()
        if "sql" not in data:
            refused = QueryResponse.from_dict(data)
            raise TallyError(200, "refused", refused.answer, refused)
        return CompileResponse.from_dict(data)

    def schema(self) -> dict:
        """`GET /v1/schema`: the DSL JSON Schema this token's role may send."""
        r = role_schema.sync_detailed(client=self.client)
        if r.status_code == 200 and r.parsed is not None and not isinstance(r.parsed, ErrorBody):
            return r.parsed.to_dict()
        raise _error(int(r.status_code), r.parsed, r.content)

    def catalog(self) -> CatalogView:
        """`GET /v1/catalog`: the metrics, dimensions and entities this token's role may use."""
        r = role_catalog.sync_detailed(client=self.client)
        if r.status_code == 200 and isinstance(r.parsed, CatalogView):
            return r.parsed
        raise _error(int(r.status_code), r.parsed, r.content)

    def _dsl_body(self, dsl: Dsl) -> dict[str, Any]:
        # A dict goes as written: the server checks it and answers `invalid_query` with
        # diagnostics (a model would drop a misspelt field without a word).
        body: dict[str, Any] = {"dsl": dict(dsl) if isinstance(dsl, Mapping) else dsl.to_dict()}
        if self.workspace is not None:
            body["workspace"] = self.workspace
        return body

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        r = self.client.get_httpx_client().post(path, json=body)
        if r.status_code != 200:
            raise _error_of(r)
        return r


def _error_of(r: httpx.Response) -> TallyError:
    try:
        data = r.json()
    except ValueError:
        data = None
    parsed: Any = None
    if isinstance(data, dict) and data.get("code") == "invalid_query":
        parsed = InvalidQueryBody.from_dict(data)
    elif isinstance(data, dict) and "code" in data:
        parsed = ErrorBody.from_dict(data)
    return _error(r.status_code, parsed, r.content)


def _error(status: int, parsed: Any, content: bytes) -> TallyError:
    if isinstance(parsed, ErrorBody):
        return TallyError(status, parsed.code.value, parsed.message, parsed)
    if isinstance(parsed, InvalidQueryBody):
        return TallyError(status, parsed.code.value, parsed.answer, parsed)
    return TallyError(status, "unexpected", content[:200].decode("utf-8", "replace"), None)


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    """Server-sent events as (name, decoded JSON data): `event:` and `data:` lines, a blank
    line ends one, lines starting with `:` are keep-alive comments."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
    if data:
        yield name, json.loads("\n".join(data))
