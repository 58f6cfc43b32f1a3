"""Gunicorn settings for running the app with uvicorn-worker: bind, workers, graceful shutdown, recycling, proxies.

Rules: PF003, PF007, PF801, PF802, PF803, PF807

Adopt: ``gunicorn -c python:app.gunicorn_conf app.main:app`` (or ``-c gunicorn_conf.py``). Every value can be
changed from the environment. Under Kubernetes run one worker per container (the default here) and scale with
replicas; on a VM, start near one worker per core and measure. Keep ``GRACEFUL_TIMEOUT`` below the pod's
``terminationGracePeriodSeconds`` (30 s by default) so in-flight requests finish and lifespan shutdown runs before
the kubelet's SIGKILL. Without gunicorn, run ``uvicorn app.main:app --host 0.0.0.0 --timeout-graceful-shutdown 20``
(uvicorn waits for in-flight requests forever when that flag is unset) and ``--forwarded-allow-ips`` set to the same
addresses as ``TRUSTED_PROXIES`` (uvicorn's default trusts 127.0.0.1).
"""

from __future__ import annotations

import os


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        msg = f"{name} must be a whole number, got {raw!r}"
        raise SystemExit(msg) from None


# 0.0.0.0, not uvicorn's default 127.0.0.1, which is unreachable from outside the container.
bind = f"0.0.0.0:{_int_env('PORT', 8000)}"
workers = _int_env("WEB_CONCURRENCY", 1)
# uvicorn-worker's class; uvicorn.workers.UvicornWorker is deprecated.
worker_class = "uvicorn_worker.UvicornWorker"

# How long a worker may take to finish in-flight requests after SIGTERM before gunicorn kills it.
graceful_timeout = _int_env("GRACEFUL_TIMEOUT", 20)
# A worker heartbeat, not a request timeout: a worker whose event loop is blocked this long is restarted.
timeout = _int_env("WORKER_TIMEOUT", 60)
# Longer than the load balancer's idle timeout (AWS ALB: 60 s), or it reuses connections we already closed: 502s.
keepalive = _int_env("KEEPALIVE", 75)

# Recycle workers now and then to contain slow leaks; the jitter keeps them from all restarting at once.
max_requests = _int_env("MAX_REQUESTS", 10_000)
max_requests_jitter = _int_env("MAX_REQUESTS_JITTER", 1_000)

# Only these peers may set X-Forwarded-For / X-Forwarded-Proto (the same TRUSTED_PROXIES the app reads).
# Empty: nobody, the peer address is the client. Never "*": any client could choose its address and scheme.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "")

# gunicorn 25.1+ opens a control socket by default: $XDG_RUNTIME_DIR/gunicorn.ctl when that is set, else under
# $HOME/.gunicorn/. A container's non-root user often has neither writable, and the orchestrator, not gunicornc,
# manages the process.
control_socket_disable = True

# The app's ProductionMiddleware writes the access line (with request ID); errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

if graceful_timeout <= 0:
    msg = f"GRACEFUL_TIMEOUT must be positive (and below terminationGracePeriodSeconds), got {graceful_timeout}"
    raise SystemExit(msg)
