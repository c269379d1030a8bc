"""Event Grid for Azurite: delivers each new blob of a container to the blob extension's webhook as a
BlobCreated event, after the subscription validation handshake, as Event Grid does in Azure.

    python -m devtools.blob_relay [--webhook URL] [--function record_backup] [--key KEY] [--interval 0.5]

Azurite emits no events, and `record_backup` is an Event Grid-source blob trigger: without this relay it never
fires locally. Works against `python -m shared.devhost --blob-source eventgrid` and against `func start`.
Reads BACKUP_STORAGE (connection string) and BACKUP_CONTAINER from the environment, else from
local.settings.json / local.settings.sample.json. The key defaults to FUNCTIONS_MASTER_KEY, else the local
host's <LOCAL_DATA_DIR>/devhost-master.key. Blobs present at start are not delivered (as a new subscription).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from . import eventgrid

log = logging.getLogger("blob_relay")
ROOT = Path(__file__).resolve().parents[1]


class Relay:
    def __init__(self, connection: str, container: str, webhook: str, key: str = ""):
        self.client = BlobServiceClient.from_connection_string(connection).get_container_client(container)
        self.container, self.webhook, self.key = container, webhook, key
        self.seen: set[str] = set()

    def _post(self, events: list[dict], kind: str) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", "aeg-event-type": kind}
        if self.key:
            headers["x-functions-key"] = self.key
        req = urllib.request.Request(self.webhook, data=json.dumps(events).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def handshake(self) -> None:
        code = os.urandom(8).hex()
        status, body = self._post([eventgrid.validation_event(code)], "SubscriptionValidation")
        if status != 200 or json.loads(body or b"{}").get("validationResponse") != code:
            raise RuntimeError(f"the webhook refused the validation handshake (HTTP {status})")

    def _blobs(self) -> list:
        try:
            return list(self.client.list_blobs())
        except ResourceNotFoundError:  # the app creates its container with its first backup
            return []

    def skip_existing(self) -> None:
        self.seen.update(b.name for b in self._blobs())

    def deliver_new(self) -> list[str]:
        """One round: each blob not delivered yet, one event each; a refused delivery is retried next round."""
        delivered = []
        account = self.client.url.rsplit("/", 1)[0]
        for blob in self._blobs():
            if blob.name in self.seen:
                continue
            event = eventgrid.blob_created(account, self.container, blob.name, size=blob.size,
                                           etag=str(blob.etag or ""),
                                           content_type=blob.content_settings.content_type or "")
            status, _ = self._post([event], "Notification")
            if 200 <= status < 300:
                self.seen.add(blob.name)
                delivered.append(blob.name)
            else:
                log.warning("webhook answered %d for a blob; retrying next round", status)
        return delivered


def _setting(name: str, default: str = "") -> str:
    if os.environ.get(name):
        return os.environ[name]
    for file in ("local.settings.json", "local.settings.sample.json"):
        path = ROOT / file
        if path.exists():
            value = json.loads(path.read_text()).get("Values", {}).get(name)
            if value:
                return value
    return default


def default_key() -> str:
    if os.environ.get("FUNCTIONS_MASTER_KEY"):
        return os.environ["FUNCTIONS_MASTER_KEY"]
    path = Path(_setting("LOCAL_DATA_DIR", ".localdata"))
    path = (path if path.is_absolute() else ROOT / path) / "devhost-master.key"
    return path.read_text().strip() if path.exists() else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:7071", help="the Functions host")
    parser.add_argument("--function", default="record_backup")
    parser.add_argument("--key", default=None, help="x-functions-key (default: the local host's master key)")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK's request traces, every round
    webhook = f"{args.base.rstrip('/')}/runtime/webhooks/blobs?functionName=Host.Functions.{quote(args.function)}"
    relay = Relay(_setting("BACKUP_STORAGE", "UseDevelopmentStorage=true"), _setting("BACKUP_CONTAINER", "backups"),
                  webhook, default_key() if args.key is None else args.key)
    relay.skip_existing()
    relay.handshake()
    log.info("relaying new blobs of %s to %s", relay.container, webhook.split("?")[0])  # tests wait for this line
    while True:
        for name in relay.deliver_new():
            log.info("delivered BlobCreated for %s", name)
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
