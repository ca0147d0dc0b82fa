"""`veil keys rotate-secret`: a new VEIL_SECRET_KEY; the old one stays, for decryption only.

Everything sealed carries the id of the key that sealed it (veil.kit.crypto.Keyring), so after
a rotation new export files, deletion records, write keys and link signatures use the new
secret while everything from before still opens under the retired one. Retired secrets are
never used to seal again. The suppression keys (SPEC §9) are sealed again under the new secret
right away (and by every sweep), so the suppression list outlives the retired secret.

- Secret generated into the data dir (the default): the command writes the new one to
  `<data dir>/secret_key` and moves the old one to the top of `<data dir>/old_secret_keys`
  (both mode 0600). Restart `veil serve` and `veil worker` to start sealing with it.
- Secret given as VEIL_SECRET_KEY: the command cannot change your environment; it prints a
  fresh secret and what to set (`VEIL_SECRET_KEY=<new>`, the old value first in
  VEIL_OLD_SECRET_KEYS), and changes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from veil.cli import common
from veil.config import Settings


def _write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with a 0600 file holding `text`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def rotate_secret(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rotate the root secret: seal with a new one, keep the old one for decryption."""
    from veil.config import OLD_SECRETS_FILE, SECRET_FILE, new_secret

    settings = common.runtime().settings
    fresh = new_secret()
    if settings.secret_key:
        steps = (
            "VEIL_SECRET_KEY comes from the environment: set VEIL_SECRET_KEY to the new "
            "secret and put the current value first in VEIL_OLD_SECRET_KEYS (comma separated), "
            "then restart veil serve and every veil worker."
        )
        if as_json:
            typer.echo(json.dumps({"rotated": False, "new_secret": fresh, "steps": steps}))
        else:
            typer.echo(f"new secret: {fresh}\n{steps}")
        return
    current = settings.secret_keys()[0]  # creates the data dir's secret if there is none yet
    data_dir = settings.data_dir
    retired_path = data_dir / OLD_SECRETS_FILE
    retired = retired_path.read_text().splitlines() if retired_path.exists() else []
    # The retired list first: a crash between the two writes leaves both secrets known.
    _write_private(retired_path, "\n".join([current, *(r for r in retired if r.strip())]) + "\n")
    _write_private(data_dir / SECRET_FILE, fresh)
    resealed = _reseal_suppression_keys(settings)
    message = "Restart veil serve and every veil worker to seal with the new secret."
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "rotated": True,
                    "retired": len(retired) + 1,
                    "resealed_suppression_keys": resealed,
                    "steps": message,
                }
            )
        )
    else:
        typer.echo(f"secret rotated; {len(retired) + 1} retired secret(s) kept for decryption.")
        typer.echo(message)


def _reseal_suppression_keys(settings: Settings) -> int | None:
    """Seal the suppression keys under the new secret at once (every sweep also does), so the
    suppression list does not depend on the retired secret; None when the database cannot be
    reached or is not migrated yet (the sweep does it later)."""
    from veil.compliance.suppressions.keys import reseal_keys
    from veil.runtime import Runtime

    rotated = Runtime(settings)  # reads the secret files again: the new secret first
    try:
        return reseal_keys(rotated)
    except Exception:
        return None
    finally:
        rotated.dispose()


def register(keys_app: typer.Typer) -> None:
    keys_app.command("rotate-secret")(rotate_secret)
