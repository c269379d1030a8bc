"""Local development tools (never imported by function_app.py or migration/, never deployed)."""
