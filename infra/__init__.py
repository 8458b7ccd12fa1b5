"""What `chalice package` cannot declare: tables, queues, alarms (see template.py)."""
