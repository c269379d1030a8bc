"""Blob-triggered function: records each new backup's manifest (size, sha256, key count, verified)."""
from __future__ import annotations

import azure.functions as func

from migration.app_services import services

bp = func.Blueprint()


# On the Flex Consumption plan the blob trigger must use the Event Grid source; locally, the dev host calls
# this function itself when a backup lands.
@bp.blob_trigger(arg_name="blob", path="%BACKUP_CONTAINER%/{name}", connection="BACKUP_STORAGE",
                 source=func.BlobSource.EVENT_GRID)
async def record_backup(blob: func.InputStream) -> None:
    name = (blob.name or "").split("/", 1)[-1]
    await services().migration.record_backup(name, blob.read())
