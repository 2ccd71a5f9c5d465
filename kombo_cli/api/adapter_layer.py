"""An adapter mounted in front of a session's own, to see or stop each request on its way.

`kombo_cli.upload.send_gate` (no upload after Ctrl-C) and `kombo_cli.upload.reachability`
(whether the server answers at all) each put one such layer in front of the pools.
"""

from __future__ import annotations

from typing import Any, Callable, Union

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter

Timeout = Union[None, float, tuple[Union[float, None], Union[float, None]]]


class AdapterLayer(BaseAdapter):
    """Passes every request on to `inner`, through `around`, which a layer overrides."""

    def __init__(self, inner: BaseAdapter) -> None:
        super().__init__()
        self.inner = inner

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Timeout = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        def forward() -> Response:
            return self.inner.send(
                request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )

        return self.around(request, timeout, forward)

    def around(
        self, request: PreparedRequest, timeout: Timeout, forward: Callable[[], Response]
    ) -> Response:
        """What the layer does about one request; `forward()` sends it on."""
        return forward()

    def close(self) -> None:
        self.inner.close()
