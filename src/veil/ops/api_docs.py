"""/api/docs: Swagger UI served by Veil itself, so it works under Veil's CSP (`script-src
'self'`, no CDN, no inline script). The assets come from the pinned `swagger-ui-bundle-v2`
package; the page's only script of our own is web/static/api-docs.js."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from veil.errors import NotFound

router = APIRouter(include_in_schema=False)

# Only these files of the bundle are served (no directory listing, no path walking).
_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Veil API</title>
<link rel="icon" href="/api/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def _bundle_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@router.get("/api/docs")
def api_docs() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-cache"})


@router.get("/api/docs/assets/{name}")
def api_docs_asset(name: str) -> FileResponse:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise NotFound()
    return FileResponse(
        _bundle_dir() / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
