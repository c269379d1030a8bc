"""The Functions app: one blueprint per area, nothing else."""
import azure.functions as func

from shared import logs

logs.install()

from migration.blob_backup import bp as backups  # noqa: E402
from migration.http_api import bp as user_api  # noqa: E402

app = func.FunctionApp()
app.register_functions(user_api)
app.register_functions(backups)
