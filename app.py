"""The sales office's registration system: the table of contents.

Each area is a Chalice blueprint in chalicelib/api/, registered here; the
middleware every answer and every job passes through is wired by
``edge.serve``. Routes parse, call a service (chalicelib/services/) and answer.

- webhook.py   registrants, signed (API.md): POST/GET /v1/registrations,
               GET /v1/registrations/{id}, GET /v1/events
- staff.py     staff by bearer token: /v1/staff/me, /v1/staff/me/customers,
               /v1/recommenders, /v1/consultant-registrations,
               /v1/late-approvals, /v1/customer-lookups, /v1/pool,
               /v1/pool/assignments, /v1/deals
- floor.py     the floor: /v1/visits and each visit's departure, decisions
               (判客), sign-ins, assignment, form, exemption; /v1/visit-lookups,
               /v1/forms, /v1/rosters/{day}, /v1/reports/daily
- fines.py     the fines ledger: /v1/fines, its decisions, appeals, statements
- party_a.py   Party A's administration: /v1/registrants, /v1/brokers, /v1/staff
- console.py   the console's pages: /console
- jobs.py      schedules: expiry_sweep (hourly), duplicate_watch (hourly),
               monthly_reclaim (02:00 Shanghai on the 1st); the stream of
               the idempotency table's TTL deletions: idempotency_stream
"""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.api import console, dashboard, edge, fines, floor, jobs, party_a, staff, webhook
from chalicelib.api.appeals import hearings
from chalicelib.api.deliveries import pushes

app = Chalice(app_name="sales-office")
edge.serve(app)

app.register_blueprint(webhook.registrants)
app.register_blueprint(staff.people)
app.register_blueprint(floor.floor)
app.register_blueprint(fines.ledger)
app.register_blueprint(party_a.admin)
app.register_blueprint(console.pages)
app.register_blueprint(jobs.jobs)
app.register_blueprint(dashboard.board)
app.register_blueprint(pushes)
app.register_blueprint(hearings)
