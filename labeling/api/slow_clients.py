"""Close connections whose request head never arrives: the header-read timeout uvicorn lacks.

uvicorn arms its keep-alive timer only after a response, and disarms it on any byte received, so a
client that opens a socket and sends nothing - or one header byte every few seconds (slowloris) -
holds a connection for as long as it likes; enough of them exhaust the server's file descriptors.
:class:`HeadTimeoutH11Protocol` gives every request ``head_timeout`` seconds, counted from the
connection opening (or the previous response finishing, on a kept-alive connection), to deliver
its request line and headers, and closes the connection otherwise. A body is not timed here: its
size is bounded by ``max_body_bytes`` and reading it awaits the event loop, never a thread.

``triforge serve --head-timeout`` sets it; behind a reverse proxy (docker-compose's), the proxy's
own header timeout does the same job earlier.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_HEAD_TIMEOUT = 10.0


class HeadTimeoutH11Protocol(H11Protocol):
    head_timeout: float = DEFAULT_HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_head_timer()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's head was parsed: the clock stops for this request
            self._disarm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # a kept-alive connection owes the next head in time too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.logger.info("closed a connection whose request head did not arrive in %g s", self.head_timeout)
            self.transport.close()


def protocol_with_head_timeout(seconds: float) -> type[HeadTimeoutH11Protocol]:
    """The protocol class to give uvicorn (``http=``), with its timeout set."""
    return _protocol_class(float(seconds))


@functools.cache
def _protocol_class(seconds: float) -> type[HeadTimeoutH11Protocol]:
    return type("HeadTimeoutH11Protocol", (HeadTimeoutH11Protocol,), {"head_timeout": seconds})


__all__ = ["DEFAULT_HEAD_TIMEOUT", "HeadTimeoutH11Protocol", "protocol_with_head_timeout"]
