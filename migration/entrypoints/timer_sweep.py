"""Timer function: metrics snapshot and validation sweep on the SWEEP_SCHEDULE (NCRONTAB, seconds first)."""
from __future__ import annotations

import azure.functions as func

from migration.app_services import services

bp = func.Blueprint()


@bp.timer_trigger(schedule="%SWEEP_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
async def migration_sweep(timer: func.TimerRequest) -> None:
    await services().ops.sweep()
