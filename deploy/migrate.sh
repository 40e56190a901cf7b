#!/bin/sh
# The one-shot migration job (compose's `migrate` service, a Kubernetes Job, or
# by hand before starting a new release). Safe to run again: every step is
# idempotent, and tenant schemas already up to date are skipped after one query.
set -eu

# The public schema: tenants, domains, plans, platform users.
python manage.py migrate_schemas --shared --noinput
# The database cache table (used when REDIS_URL is not set).
python manage.py createcachetable
# Route the platform's own host (BASE_DOMAIN) to the public schema: the signup
# portal, the platform admin and the health checks live there.
python manage.py shell --no-startup --no-imports --verbosity 0 --command \
  "from tenants.services import ensure_public_tenant; ensure_public_tenant()"
# The tenant template (new tenants are cloned from it) and every tenant schema
# that has unapplied migrations.
python manage.py migrate_tenants
