"""The API's lists (SPEC: `?limit=` and `?cursor=`): the two query parameters as one dependency.

A list route takes `page: PageQuery` after its principal and passes `page.limit` and
`page.cursor` on to its service, which clamps the limit and decodes the cursor
(`veil.kit.pagination`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query


@dataclass(frozen=True)
class PageParams:
    limit: int | None
    cursor: str | None


def page_params(
    limit: int | None = None, cursor: Annotated[str | None, Query(max_length=500)] = None
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageQuery = Annotated[PageParams, Depends(page_params)]
