"""Mint a dev-mode bearer token for local runs:

    python -m shared.devtoken --tenant contoso --user user-1 [--admin] [--ttl 3600]

Reads the same settings as the local host (local.settings.json, else the sample). Dev mode only.
"""
from __future__ import annotations

import argparse

from .auth import mint_dev_token
from .devhost import load_local_settings
from .settings import get_settings


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tenant", default="contoso")
    p.add_argument("--user", default="user-1")
    p.add_argument("--admin", action="store_true", help="add the Migration.Admin role (ops routes)")
    p.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    a = p.parse_args(argv)
    load_local_settings()
    s = get_settings()
    print(mint_dev_token(s, a.tenant, a.user, roles=[s.auth_admin_role] if a.admin else [], ttl=a.ttl))


if __name__ == "__main__":
    main()
