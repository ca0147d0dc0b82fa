"""The API's lists (SPEC: `?limit=` and `?cursor=`): the two query parameters as one dependency.

A list route takes `page: PageQuery` after its principal and hands the `PageParams` to its
service unchanged, down to `veil.kit.pagination.paginate`, which clamps the limit and decodes
the cursor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from veil.kit.pagination import MAX_CURSOR_LENGTH, PageParams

# `?cursor=`, for the API's lists and the UI's pagers alike.
CursorQuery = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)]


def page_params(limit: int | None = None, cursor: CursorQuery = None) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageQuery = Annotated[PageParams, Depends(page_params)]
