"""The embedded AWS's child processes: moto's server until its stdin closes.

Started by ``EmbeddedAws.start``. The parent holds the write end of our stdin and never
writes; the pipe closes when the parent stops us or dies in any way (even SIGKILL), so the
emulator never outlives the kit for longer than it takes to notice.

The kit runs two of them: one for DynamoDB alone (``--services dynamodb``) and one for
everything else (``--services others``), so DynamoDB, the busiest service of the pipeline,
has a core (and an interpreter lock) of its own. ``--services all`` is the single emulator.
"""

from __future__ import annotations

import argparse
import copy
import functools
import importlib
import json
import logging
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_STATISTICS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)
_unread = threading.local()
_receiving = threading.local()
# Expressions parsed once per process; the kit sends a few dozen distinct ones.
_PARSED_EXPRESSIONS = 1024
# What every DynamoDB request carries (JSON protocol): ``X-Amz-Target: DynamoDB_20120810.<Action>``.
_DYNAMODB_TARGET = "DynamoDB_"

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--services", choices=["all", "dynamodb", "others"], default="all")
    parser.add_argument("--dynamodb-endpoint", help="others: where DynamoDB is served, for the refusal")
    parser.add_argument("--plain-dynamodb", action="store_true", help="moto's UpdateItem as released")
    args = parser.parse_args()
    # Ctrl-C reaches the whole process group: the parent decides when we stop, because its
    # own shutdown (the ingest sender's last flush) still needs the emulator.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serialize_message_deletes()
    lighten_queue_statistics()
    lighten_receives()
    if not args.plain_dynamodb:
        lighten_update_expressions()
        lighten_query_responses()
        lighten_projections()
        lighten_index_sort()
    # The emulator's per-request access log drowns everything else; keep its warnings.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = _serve(args.host, args.port, services=args.services, dynamodb_endpoint=args.dynamodb_endpoint)
    try:
        while sys.stdin.buffer.read(4096):
            pass  # nothing is ever written; we only wait for the end of the pipe
    finally:
        server.shutdown()


def _serve(host: str, port: int, *, services: str, dynamodb_endpoint: str | None) -> Any:
    """moto's WSGI application on a threaded server, as moto's ThreadedMotoServer builds it."""
    from moto.moto_server.werkzeug_app import (  # heavy import, only in the child
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app: Wsgi = DomainDispatcherApplication(create_backend_app)
    if services == "others":
        app = refusing_dynamodb(app, endpoint=dynamodb_endpoint or "its own endpoint")
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    return server


def refusing_dynamodb(app: Wsgi, *, endpoint: str) -> Wsgi:
    """``app``, answering every DynamoDB request with an error that names ``endpoint``.

    A client that only knows AWS_ENDPOINT_URL would otherwise find an empty DynamoDB here and
    carry on against the wrong tables. The error code is one botocore does not retry, and not
    ValidationException, which the processor takes for an item it can never store.
    """
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#WrongEndpointException",
            "message": f"DynamoDB is served at {endpoint} by this emulator: "
            f"export AWS_ENDPOINT_URL_DYNAMODB={endpoint}",
        }
    ).encode()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(_DYNAMODB_TARGET):
            return app(environ, start_response)
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
        start_response("400 Bad Request", headers)
        return [body]

    return application


def serialize_message_deletes() -> None:
    """Stop moto's SQS from losing messages sent while two deletes run at once, and from
    walking the whole queue on every delete.

    moto's ``Queue.delete_message`` rebuilds the queue's message list and assigns it back
    without the queue's lock (``add_message`` appends under it). When two deletes overlap,
    the later one rebuilds from the list the earlier one has replaced, so its assignment
    puts the earlier one's message back (in flight: processed again after the visibility
    timeout) and drops every message sent meanwhile, acknowledged yet neither in the queue,
    in flight nor in the DLQ. Several pollers deleting while the ingest sender sends lost
    about ten of 5,000 events that way. Deletes now hold the lock ``add_message`` takes.

    The rebuild also asked every message of the queue for its receipt handles, each time:
    with 5,000 events queued, a tenth of the SQS process under load. A receipt handle names
    one message and a deleted message is usually among the oldest, at the front; the delete
    now stops at it and copies the rest of the list at C speed. As before, the list is
    replaced rather than changed in place, so a reader walking the old one is unaffected.
    """
    models = _internal("moto.sqs.models")
    if getattr(models.Queue.delete_message, "_serialized", False):
        return

    def delete_message(queue: Any, receipt_handle: str) -> None:
        with queue._messages_lock:
            if receipt_handle in queue.deleted_messages:
                return  # deleted before: moto answers success again
            messages = queue._messages
            index = next((n for n, m in enumerate(messages) if m.had_receipt_handle(receipt_handle)), None)
            if index is None:
                raise models.ReceiptHandleIsInvalid()
            message = messages[index]
            queue.pending_messages.discard(message)
            queue.deleted_messages.update(message.all_receipt_handles)
            queue._messages = messages[:index] + messages[index + 1 :]

    delete_message._serialized = True  # type: ignore[attr-defined]
    models.Queue.delete_message = delete_message


def lighten_queue_statistics() -> None:
    """Stop moto's SQS from counting the whole queue where nobody reads the count.

    moto builds every attribute of a queue whenever any one is read, and the three message
    counts walk every message, converting timestamps each time. SendMessage reads
    ContentBasedDeduplication that way four times per message, SendMessageBatch twice more
    per entry while validating the batch, and ReceiveMessage reads MessageRetentionPeriod
    once per message, so each message cost a few walks of the queue: the pipeline slowed as
    the queue grew (py-spy: 62% of the embedded stack's samples; after the first fix, the
    batch validation was still 47% of the SQS process's under 5,000 events). Inside those
    calls the counts are now skipped; everywhere else (GetQueueAttributes) they are exact,
    as before. moto's clock is swapped for ``time.time``, the same instant
    without building two datetimes per message per walk.
    """
    models = _internal("moto.sqs.models")
    for name in _STATISTICS:
        setattr(models.Queue, name, property(_unless_unread(getattr(models.Queue, name).fget)))
    backend = models.SQSBackend
    backend.send_message = _flagged(_unread, backend.send_message)
    backend.send_message_batch = _flagged(_unread, backend.send_message_batch)
    backend.is_message_valid_based_on_retention_period = _flagged(
        _unread, backend.is_message_valid_based_on_retention_period
    )
    # moto.sqs.models imports these from moto.core.utils and calls them by that name.
    models.unix_time = _fast_clock(models.unix_time, scale=1)
    models.unix_time_millis = _fast_clock(models.unix_time_millis, scale=1000)


def lighten_receives() -> None:
    """Let ReceiveMessage stop walking the queue once it has its batch.

    moto's ReceiveMessage first lists every visible message of the queue (asking each for
    the time twice), then takes the first few it may hand out: with 5,000 events queued,
    every receive of ten walked all of them, so each event cost more the deeper the queue.
    Inside ReceiveMessage the list is now walked lazily, as far as the receive reads it;
    whether any message is visible (what its long poll waits for) stops at the first one.
    Everywhere else the list is built as before.
    """
    models = _internal("moto.sqs.models")
    built = models.Queue.messages.fget
    if getattr(built, "_lazy", False):
        return

    @functools.wraps(built)
    def messages(queue: Any) -> Any:
        return _VisibleMessages(queue._messages) if getattr(_receiving, "active", False) else built(queue)

    messages._lazy = True  # type: ignore[attr-defined]
    models.Queue.messages = property(messages)
    models.SQSBackend.receive_message = _flagged(_receiving, models.SQSBackend.receive_message)


class _VisibleMessages:
    """A queue's visible, undelayed messages, found as they are iterated."""

    def __init__(self, messages: list[Any]) -> None:
        self._messages = messages

    def __iter__(self) -> Iterator[Any]:
        return (message for message in self._messages if message.visible and not message.delayed)

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None

    def __len__(self) -> int:
        return sum(1 for _ in self)


def lighten_update_expressions() -> None:
    """Stop moto's UpdateItem from redoing, on every call, work that depends only on the text.

    py-spy on the embedded stack under load: UpdateItem was 48% of the emulator's samples, and
    of that 16% went to parsing the expression (twice per call), 27% to deep-copying the
    parsed tree and most of the rest to ten validators walking it, three of which only check
    its shape (one SET clause, no path set twice, no key attribute set). Now:

    * an expression is parsed once; each validation gets its own copy of the tree,
      unpickled (C speed) from the parse rather than deep-copied (Python speed);
    * the three shape checks run once per expression, attribute names and table keys: they
      are pure functions of those, so a second run could only repeat the first's answer;
    * each validator's node kinds are computed once per class (moto documents the accessor
      as cached but rebuilt them, with a dict of bound methods, for every node visited).

    Everything that depends on the item or the values (resolving names and values,
    if_not_exists, type checks, size limits) still runs on every call, as moto wrote it.
    """
    validators = _internal("moto.dynamodb.parsing.validators")
    ast_nodes = _internal("moto.dynamodb.parsing.ast_nodes")
    parser = _internal("moto.dynamodb.parsing.expressions").UpdateExpressionParser
    parse = parser.make

    @functools.lru_cache(maxsize=_PARSED_EXPRESSIONS)
    def parsed(expression: str) -> tuple[Any, bytes]:
        tree = parse(expression)
        tree.cv_analytics_source = expression  # what the shape checks below are keyed on
        return tree, pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)

    def make(cls: type, expression: str) -> Any:
        # Shared: moto only reads the tree it is given and validates a copy (tree_copy).
        return parsed(expression)[0]

    parser.make = classmethod(make)

    def tree_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        source = getattr(value, "cv_analytics_source", None) if isinstance(value, ast_nodes.Node) else None
        if memo is None and source is not None and parsed(source)[0] is value:
            return pickle.loads(parsed(source)[1])  # the tree as parsed, even if someone wrote to it
        return copy.deepcopy(value, memo)

    validators.deepcopy = tree_copy
    shape_checks = (
        validators.ActionCountValidator,
        validators.OverlappingPathsValidator,
        validators.UpdateHashRangeKeyValidator,
    )
    validator = validators.UpdateExpressionValidator
    validator.__init__ = _shape_checked_once(validator.__init__, shape_checks=shape_checks)
    ast_nodes.DepthFirstTraverser.nodes_to_be_processed = _kinds_per_class()


def _kinds_per_class() -> Callable[[Any], tuple[type, ...]]:
    kinds: dict[type, tuple[type, ...]] = {}

    def nodes_to_be_processed(traverser: Any) -> tuple[type, ...]:
        found = kinds.get(type(traverser))
        if found is None:  # every moto traverser maps the same classes whatever its state
            found = kinds[type(traverser)] = tuple(traverser._processing_map())
        return found

    return nodes_to_be_processed


def lighten_query_responses() -> None:
    """Write a Query's answer with ``json.dumps`` instead of moto's generic serializer.

    py-spy on a report read: about 40% of each Query page went to moto walking every
    attribute value of every item through botocore's shape model, to produce what the items
    already are, DynamoDB JSON (moto holds them so, binary values base64-encoded). The
    answer is the same document (a test compares the two); anything ``json.dumps`` cannot
    write goes the generic way, as does every other operation.
    """
    responses = _internal("moto.dynamodb.responses")
    generic = responses.DynamoResult.execute_result

    @functools.wraps(generic)
    def execute_result(result: Any, context: Any) -> Any:
        if context.operation_model.name != "Query":
            return generic(result, context)
        try:
            body = json.dumps(result.result)
        except (TypeError, ValueError):
            return generic(result, context)
        version = context.service_model.metadata.get("jsonVersion", "1.0")
        return 200, {"Content-Type": f"application/x-amz-json-{version}"}, body

    responses.DynamoResult.execute_result = execute_result


def lighten_projections() -> None:
    """Project an item on top-level attribute names by picking those attributes.

    py-spy on a two-week report read: a third of the DynamoDB process went to moto's
    ``Item.project``, which turns the whole item into Python values and back once per
    projected name (fourteen times per record for the report). The attributes picked are
    copies of the stored ones, the same values moto's round trip gives for the kit's items
    (a test compares the answers, every attribute type included). A projection with a
    nested path or an index goes moto's way.
    """
    dynamo_type = _internal("moto.dynamodb.models.dynamo_type")
    item_class = dynamo_type.Item
    released = item_class.project
    if getattr(released, "_picked", False):
        return

    @functools.wraps(released)
    def project(item: Any, projection_expressions: list[list[str]]) -> Any:
        if any(len(path) != 1 or "[" in path[0] for path in projection_expressions):
            return released(item, projection_expressions)
        result = item_class.__new__(item_class)
        result.hash_key, result.range_key = item.hash_key, item.range_key
        attrs = dynamo_type.LimitedSizeDict.__new__(dynamo_type.LimitedSizeDict)
        for (name,) in projection_expressions:
            if name in item.attrs:  # a subset of a stored item: no size to check again
                dict.__setitem__(attrs, name, copy.deepcopy(item.attrs[name]))
        result.attrs = attrs
        return result

    project._picked = True  # type: ignore[attr-defined]
    item_class.project = project


def lighten_index_sort() -> None:
    """Sort an index query's items on their key values, not on moto's typed wrappers.

    moto sorts a GSI query's matches (the whole week, for every page) comparing tuples of
    ``DynamoType``, whose comparisons convert both values on every call: a quarter of a
    report read. Key attributes are strings, numbers or binary, one type per attribute, so
    sorting on the converted values once per item gives the same order (sorts are stable).
    """
    table_class = _internal("moto.dynamodb.models.table").Table
    released = table_class.sorted_items
    if getattr(released, "_keyed", False):
        return

    @functools.wraps(released)
    def sorted_items(
        table: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]
    ) -> list[Any]:
        names = table._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        items.sort(key=lambda item: tuple(item.attrs[name].cast_value for name in names))
        return items

    sorted_items._keyed = True  # type: ignore[attr-defined]
    table_class.sorted_items = sorted_items


def _shape_checked_once(init: Callable[..., None], *, shape_checks: tuple[type, ...]) -> Callable[..., None]:
    """Wrap a validator's ``__init__``: skip ``shape_checks`` for a shape that passed them before."""
    passed: set[tuple[Any, ...]] = set()
    lock = threading.Lock()

    @functools.wraps(init)
    def checked_once(validator: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        init(validator, expression, *args, **kwargs)
        source = getattr(expression, "cv_analytics_source", None)
        if source is None:  # not parsed by make() above: validate it all, every time
            return
        shape = (
            source,
            tuple(sorted((validator.expression_attribute_names or {}).items())),
            tuple(validator.table.table_key_attrs),
        )
        with lock:
            seen = shape in passed
        if seen:
            kept = [step for step in validator.processors if not isinstance(step, shape_checks)]
            validator.processors = kept
        else:
            validator.processors.append(_Passed(passed, shape, lock))

    return checked_once


class _Passed:
    """The last step of a full validation: reached only if every check passed."""

    def __init__(self, passed: set[tuple[Any, ...]], shape: tuple[Any, ...], lock: threading.Lock) -> None:
        self._passed, self._shape, self._lock = passed, shape, lock

    def traverse(self, node: Any) -> Any:
        with self._lock:
            if len(self._passed) < _PARSED_EXPRESSIONS:
                self._passed.add(self._shape)
        return node


def _internal(module: str) -> Any:
    """A module of moto's, whose internals (untyped, and patched here) are reached as Any."""
    return importlib.import_module(module)


def _unless_unread(count: Callable[[Any], int]) -> Callable[[Any], int | None]:
    @functools.wraps(count)
    def counted(queue: Any) -> int | None:
        return None if getattr(_unread, "active", False) else count(queue)

    return counted


def _flagged(flag: threading.local, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, with ``flag.active`` set in its thread while it runs."""

    @functools.wraps(method)
    def flagged(*args: Any, **kwargs: Any) -> Any:
        outer = getattr(flag, "active", False)
        flag.active = True
        try:
            return method(*args, **kwargs)
        finally:
            flag.active = outer

    return flagged


def _fast_clock(original: Callable[..., float], *, scale: int) -> Callable[..., float]:
    def clock(dt: Any = None) -> float:
        return original(dt) if dt is not None else time.time() * scale

    return clock


if __name__ == "__main__":
    main()
