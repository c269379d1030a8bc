"""The Functions app: one blueprint per area, nothing else."""
import azure.functions as func

from shared import logs

logs.install()

from migration.entrypoints.blob_backup import bp as backups  # noqa: E402
from migration.entrypoints.http_api import bp as user_api  # noqa: E402
from migration.entrypoints.http_ops import bp as ops_api  # noqa: E402
from migration.entrypoints.timer_sweep import bp as sweeps  # noqa: E402

app = func.FunctionApp()
for blueprint in (user_api, ops_api, backups, sweeps):
    app.register_functions(blueprint)
